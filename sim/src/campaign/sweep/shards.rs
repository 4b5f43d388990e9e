//! A sweep spread over a batch engine: the shard taken from the engine's own environment
//! (`--shard auto`), what each results line says of the sweep it belongs to, and the check
//! `ksim merge` makes that the shard files cover the range exactly once, with one scenario,
//! flags and code version.

use super::*;

/// What a results line says of its sweep: the range, the shard and the code that ran it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepOf {
    pub from: u64,
    pub seeds: u64,
    /// `K/N`; `1/1` for a sweep that is not sharded.
    pub shard: String,
    /// `ksim --version`'s text: the package version and the commit.
    pub version: String,
    /// Stopped at its first finding (`--until-first`): its seeds after that one never ran.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub until_first: bool,
}

impl SweepOf {
    pub fn of(opts: &Options) -> SweepOf {
        let (k, n) = opts.shard.map_or((1, 1), |s| (s.k, s.n));
        SweepOf {
            from: opts.from,
            seeds: opts.seeds,
            shard: format!("{k}/{n}"),
            version: crate::report::output::VERSION.to_string(),
            until_first: opts.until_first,
        }
    }

    fn parts(&self) -> Shard {
        self.shard.parse().unwrap_or(Shard { k: 1, n: 1 })
    }

    /// The options of this shard, as far as the seeds go.
    fn options(&self) -> Options {
        let shard = self.parts();
        Options::range(self.from, self.seeds, (shard.n > 1).then_some(shard))
    }
}

/// The engines `--shard auto` knows, as they name a task's index.
const ENGINES: &str = "SLURM_ARRAY_TASK_ID (a Slurm job array), JOB_COMPLETION_INDEX (a \
    Kubernetes Indexed Job), AWS_BATCH_JOB_ARRAY_INDEX (an AWS Batch array job), or \
    CI_NODE_INDEX with CI_NODE_TOTAL (GitLab's parallel jobs, or a GitHub Actions matrix that \
    sets them)";

/// `--shard auto`: this task's shard from the engine's environment (`get` reads a variable).
/// Kubernetes and AWS Batch name only the index: the count comes from `--shards N` or
/// `KSIM_SHARDS`.
pub fn shard_from_env(
    get: &dyn Fn(&str) -> Option<String>,
    shards: Option<u64>,
) -> Result<Shard, String> {
    let num = |name: &str| -> Result<Option<u64>, String> {
        get(name)
            .map(|v| {
                v.trim()
                    .parse()
                    .map_err(|_| format!("{name}={v} is not a number"))
            })
            .transpose()
    };
    let count = |engine: &str| -> Result<u64, String> {
        shards.or(num("KSIM_SHARDS")?).ok_or_else(|| {
            format!("{engine} names this task's index but not how many there are: give --shards N or set KSIM_SHARDS")
        })
    };
    let (k, n) = if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
        if num("SLURM_ARRAY_TASK_STEP")?.is_some_and(|s| s != 1) {
            return Err("a Slurm array with a step other than 1 (e.g. --array=0-9:2) leaves shards out: use --array=A-B".into());
        }
        let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let n = match (num("SLURM_ARRAY_TASK_COUNT")?, num("SLURM_ARRAY_TASK_MAX")?) {
            (Some(c), _) => c,
            (None, Some(max)) => max + 1 - min,
            (None, None) => count("SLURM_ARRAY_TASK_ID")?,
        };
        (
            id.checked_sub(min)
                .ok_or("SLURM_ARRAY_TASK_ID is below SLURM_ARRAY_TASK_MIN")?
                + 1,
            n,
        )
    } else if let Some(i) = num("JOB_COMPLETION_INDEX")? {
        (i + 1, count("JOB_COMPLETION_INDEX (Kubernetes)")?)
    } else if let Some(i) = num("AWS_BATCH_JOB_ARRAY_INDEX")? {
        (i + 1, count("AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch)")?)
    } else if let (Some(k), Some(n)) = (num("CI_NODE_INDEX")?, num("CI_NODE_TOTAL")?) {
        (k, n)
    } else {
        return Err(format!("--shard auto found no batch engine in the environment: looked for {ENGINES}; or give --shard K/N"));
    };
    format!("{k}/{n}")
        .parse()
        .map_err(|e| format!("--shard auto: {e}"))
}

/// The files `args` name: a directory stands for the `.jsonl` files in it, a pattern with
/// `*` or `?` for the files it matches (for a shell that did not expand it), in name order.
pub fn expand(args: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for arg in args {
        let text = arg.to_string_lossy();
        let mut found: Vec<PathBuf> = if arg.is_dir() {
            let entries = std::fs::read_dir(arg).map_err(|e| format!("cannot read {text}: {e}"))?;
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect()
        } else if text.contains(['*', '?']) {
            let paths = glob::glob(&text).map_err(|e| format!("{text}: {e}"))?;
            paths.filter_map(Result::ok).collect()
        } else {
            vec![arg.clone()]
        };
        if found.is_empty() {
            return Err(format!("{text}: no results files there"));
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// The shard files must cover one sweep's range exactly once: one range, shard count and
/// version; each shard in one file; every seed of each shard there. Files written without
/// their sweep (`sweep` absent: by an older ksim) are not checked.
pub fn check_cover(files: &[(PathBuf, Vec<Line>)]) -> Result<(), String> {
    let mut shards: BTreeMap<u64, (&Path, &SweepOf, BTreeSet<u64>)> = BTreeMap::new();
    let mut first: Option<(&Path, &SweepOf)> = None;
    for (path, lines) in files {
        let Some(of) = one_sweep(path, lines)? else {
            continue;
        };
        if let Some((p, f)) = first {
            same_sweep((p, f), (path, of))?;
        }
        first.get_or_insert((path, of));
        let seeds = lines.iter().map(|l| l.seed).collect();
        let k = of.parts().k;
        if let Some((other, ..)) = shards.insert(k, (path, of, seeds)) {
            return Err(format!(
                "shard {} is in two files: {} and {}",
                of.shard,
                other.display(),
                path.display()
            ));
        }
    }
    let Some((_, of)) = first else {
        return Ok(());
    };
    let n = of.parts().n;
    let absent: Vec<String> = (1..=n)
        .filter(|k| !shards.contains_key(k))
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !absent.is_empty() {
        return Err(format!(
            "shard(s) {} of seeds {}..={} are in no file",
            absent.join(", "),
            of.from,
            of.from + of.seeds - 1
        ));
    }
    for (path, of, seeds) in shards.values() {
        missing_seeds(path, of, seeds)?;
    }
    Ok(())
}

/// The one sweep a file's lines belong to, if they say.
fn one_sweep<'a>(path: &Path, lines: &'a [Line]) -> Result<Option<&'a SweepOf>, String> {
    let mut of = lines.iter().map(|l| l.sweep.as_ref());
    let Some(first) = of.next() else {
        return Ok(None);
    };
    if of.any(|o| o != first) {
        return Err(format!(
            "{} holds lines of more than one sweep (range, shard or version)",
            path.display()
        ));
    }
    Ok(first)
}

fn same_sweep(a: (&Path, &SweepOf), b: (&Path, &SweepOf)) -> Result<(), String> {
    let (pa, pb) = (a.0.display(), b.0.display());
    if a.1.version != b.1.version {
        return Err(format!(
            "{pa} was written by ksim {} and {pb} by ksim {}: merge shards of one version",
            a.1.version, b.1.version
        ));
    }
    let range = |o: &SweepOf| (o.from, o.seeds, o.parts().n);
    if range(a.1) != range(b.1) {
        let says = |o: &SweepOf| {
            format!(
                "seeds {}..={} in {} shards",
                o.from,
                o.from + o.seeds - 1,
                o.parts().n
            )
        };
        return Err(format!(
            "{pa} is of {} and {pb} of {}",
            says(a.1),
            says(b.1)
        ));
    }
    Ok(())
}

/// Every seed of the shard must be in its file (unless it stopped at its first finding); a
/// shard that died names what it left.
fn missing_seeds(path: &Path, of: &SweepOf, seeds: &BTreeSet<u64>) -> Result<(), String> {
    if of.until_first {
        return Ok(());
    }
    let want = seed_set(&of.options())?;
    let missing: Vec<u64> = want
        .iter()
        .copied()
        .filter(|s| !seeds.contains(s))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let first: Vec<String> = missing.iter().take(10).map(u64::to_string).collect();
    let more = if missing.len() > 10 { ", ..." } else { "" };
    Err(format!(
        "{}: shard {} lacks {} of its {} seeds ({}{more}): run that shard again with --resume \
         (the same command and --out) to finish them",
        path.display(),
        of.shard,
        missing.len(),
        want.len(),
        first.join(", ")
    ))
}
