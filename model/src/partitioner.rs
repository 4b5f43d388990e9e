//! The Java client's partitioner for keyed records: `toPositive(murmur2(key)) % partitions`
//! (Kafka's `BuiltInPartitioner.partitionForKey`), so that a key lands on the partition a Kafka
//! producer would send it to. murmur2 is Kafka's own variant (`Utils.murmur2`): seed
//! 0x9747b28c, little-endian 4-byte blocks, Java's 32-bit wrapping arithmetic.

use crate::ids::PartitionId;

/// Kafka's `Utils.murmur2`: the 32-bit murmur2 hash of `data`, as a Java `int`.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = SEED ^ data.len() as u32;
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    // The tail, as Java's switch falls through from 3 to 1.
    let tail = blocks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`: clears the sign bit (not `abs`, which overflows on MIN_VALUE).
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// The partition a Kafka producer sends a record with this key to.
pub fn partition_for_key(key: &[u8], partitions: i32) -> PartitionId {
    assert!(partitions > 0, "a topic has at least one partition");
    to_positive(murmur2(key)) % partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's own vectors, `UtilsTest.testMurmur2` (clients/src/test/.../utils/UtilsTest.java).
    #[test]
    fn murmur2_matches_kafkas_test_vectors() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (key, want) in cases {
            assert_eq!(murmur2(key), want, "{}", String::from_utf8_lossy(key));
        }
    }

    #[test]
    fn keys_land_on_a_partition_in_range_and_always_the_same_one() {
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(-1), i32::MAX);
        // -973932308 & 0x7fffffff = 1173551340: mod 3 is 0, mod 7 is 3.
        assert_eq!(partition_for_key(b"21", 3), 0);
        assert_eq!(partition_for_key(b"21", 7), 3);
        for p in 1..50 {
            for key in [&b"foobar"[..], b"", b"k"] {
                let got = partition_for_key(key, p);
                assert!((0..p).contains(&got));
                assert_eq!(got, partition_for_key(key, p));
            }
        }
    }
}
