//! One znode with a version, for the model tests of what Kafka writes conditionally: the
//! outcome of each operation on it, as ZooKeeper gives it.

use crate::zookeeper::{Stat, ZkAnswer, ZkError, ZkOp, Zxid};

/// The outcome of `op` on `znode` (its data and version; `None`: not there).
pub fn apply(
    znode: &mut Option<(bytes::Bytes, i32)>,
    op: &ZkOp,
) -> Result<ZkAnswer, Option<ZkError>> {
    let stat = |version| Stat {
        czxid: Zxid::default(),
        mzxid: Zxid::default(),
        pzxid: Zxid::default(),
        version,
        cversion: 0,
        ephemeral_owner: None,
        num_children: 0,
    };
    match (op, znode.clone()) {
        (ZkOp::GetData { .. }, Some((data, v))) => Ok(ZkAnswer::Data {
            data,
            stat: stat(v),
        }),
        (ZkOp::GetData { .. } | ZkOp::SetData { .. }, None) => Err(Some(ZkError::NoNode)),
        (ZkOp::SetData { data, version, .. }, Some((_, v))) if *version == v || *version == -1 => {
            *znode = Some((data.clone(), v + 1));
            Ok(ZkAnswer::SetData(stat(v + 1)))
        }
        (ZkOp::SetData { .. }, Some(_)) => Err(Some(ZkError::BadVersion)),
        (ZkOp::Create { path, data, .. }, None) => {
            *znode = Some((data.clone(), 0));
            Ok(ZkAnswer::Created {
                path: path.clone(),
                stat: stat(0),
            })
        }
        (ZkOp::Create { .. }, Some(_)) => Err(Some(ZkError::NodeExists)),
        (other, _) => unreachable!("{other:?}"),
    }
}
