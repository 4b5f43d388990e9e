//! The data tree every server builds by applying committed transactions in zxid order:
//! znodes with their data and `Stat`, the open sessions with their timeouts, and the rules of
//! each write (ZooKeeper's `PrepRequestProcessor` and `DataTree`). Applying is deterministic,
//! so servers that applied the same transactions hold the same tree (`digest`).

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use bytes::Bytes;

use super::{EventKind, SessionId, Stat, Txn, ZkAnswer, ZkError, ZkOp, Zxid};
use crate::selftest::{SelfTest, ZkFlaw};

/// One znode.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Znode {
    pub data: Bytes,
    pub stat: Stat,
}

/// What applying one transaction did.
#[derive(Debug)]
pub struct Applied {
    /// The answer for the client that asked (None for the leader's own transactions).
    pub result: Option<Result<ZkAnswer, ZkError>>,
    /// What the watches of each path hear.
    pub events: Vec<(String, EventKind)>,
    /// The session this transaction created or closed.
    pub session: Option<SessionId>,
}

#[derive(Clone, Debug)]
pub struct DataTree {
    nodes: BTreeMap<String, Znode>,
    /// Open sessions and their negotiated timeouts.
    sessions: BTreeMap<SessionId, u64>,
    /// The last transaction applied.
    last: Zxid,
    /// The wrapping sum of every znode's and session's own hash, kept at each change, so
    /// that the digest costs nothing per write (ZooKeeper's DigestCalculator sums too).
    sum: u64,
    selftest: SelfTest,
}

/// One znode's or session's share of the digest.
fn share(item: impl Hash) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    item.hash(&mut h);
    h.finish()
}

impl Default for DataTree {
    fn default() -> Self {
        DataTree::new(SelfTest::default())
    }
}

impl DataTree {
    /// A tree with only `/`.
    pub fn new(selftest: SelfTest) -> Self {
        let mut tree = DataTree {
            nodes: BTreeMap::new(),
            sessions: BTreeMap::new(),
            last: Zxid::default(),
            sum: 0,
            selftest,
        };
        let root = Znode {
            data: Bytes::new(),
            stat: Stat::default(),
        };
        tree.put("/".to_string(), root);
        tree
    }

    pub fn last_zxid(&self) -> Zxid {
        self.last
    }

    pub fn get(&self, path: &str) -> Option<&Znode> {
        self.nodes.get(path)
    }

    pub fn sessions(&self) -> &BTreeMap<SessionId, u64> {
        &self.sessions
    }

    pub fn znodes(&self) -> impl Iterator<Item = (&String, &Znode)> {
        self.nodes.iter()
    }

    /// The names of `path`'s children, sorted.
    pub fn children(&self, path: &str) -> Vec<String> {
        let prefix = if path == "/" {
            "/".to_string()
        } else {
            format!("{path}/")
        };
        self.nodes
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter_map(|(p, _)| {
                let rest = &p[prefix.len()..];
                (!rest.is_empty() && !rest.contains('/')).then(|| rest.to_string())
            })
            .collect()
    }

    /// The ephemeral znodes `session` owns.
    pub fn ephemerals(&self, session: SessionId) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.stat.ephemeral_owner == Some(session))
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// One hash of every znode and session: equal trees, equal digests (ZooKeeper's own
    /// digest check, ZOOKEEPER-3114).
    pub fn digest(&self) -> u64 {
        self.sum
    }

    /// Every change to a znode goes through these three, which keep the digest's sum.
    fn put(&mut self, path: String, node: Znode) {
        self.sum = self.sum.wrapping_add(share((&path, &node)));
        if let Some(old) = self.nodes.insert(path.clone(), node) {
            self.sum = self.sum.wrapping_sub(share((&path, &old)));
        }
    }

    fn take(&mut self, path: &str) {
        if let Some(old) = self.nodes.remove(path) {
            self.sum = self.sum.wrapping_sub(share((path, &old)));
        }
    }

    fn change<R>(&mut self, path: &str, f: impl FnOnce(&mut Znode) -> R) -> Option<R> {
        let node = self.nodes.get_mut(path)?;
        let before = share((path, &*node));
        let r = f(node);
        let after = share((path, &*node));
        self.sum = self.sum.wrapping_sub(before).wrapping_add(after);
        Some(r)
    }

    fn open_session(&mut self, session: SessionId, timeout_ms: u64) {
        self.sum = self
            .sum
            .wrapping_add(share(("session", session, timeout_ms)));
        if let Some(old) = self.sessions.insert(session, timeout_ms) {
            self.sum = self.sum.wrapping_sub(share(("session", session, old)));
        }
    }

    fn end_session(&mut self, session: SessionId) {
        if let Some(old) = self.sessions.remove(&session) {
            self.sum = self.sum.wrapping_sub(share(("session", session, old)));
        }
    }

    /// Apply the committed transaction `zxid`.
    pub fn apply(&mut self, zxid: Zxid, txn: &Txn) -> Applied {
        assert!(zxid > self.last, "transactions apply in zxid order");
        self.last = zxid;
        let mut events = Vec::new();
        let (result, session) = match txn {
            Txn::NewLeader => (None, None),
            Txn::CreateSession { timeout_ms, .. } => {
                let session = zxid.as_u64();
                self.open_session(session, *timeout_ms);
                (None, Some(session))
            }
            Txn::CloseSession { session } => {
                self.close_session(zxid, *session, &mut events);
                (Some(Ok(ZkAnswer::Closed)), Some(*session))
            }
            Txn::Op { session, op, .. } => {
                let r = if self.sessions.contains_key(session) {
                    self.write(zxid, *session, op, &mut events)
                } else {
                    Err(ZkError::SessionExpired)
                };
                (Some(r), None)
            }
        };
        Applied {
            result,
            events,
            session,
        }
    }

    fn close_session(
        &mut self,
        zxid: Zxid,
        session: SessionId,
        events: &mut Vec<(String, EventKind)>,
    ) {
        self.end_session(session);
        if self
            .selftest
            .planted_in_zookeeper(ZkFlaw::KeepEphemeralsOnClose)
        {
            return;
        }
        // Deepest first: an ephemeral has no children, but keep the rule general.
        for path in self.ephemerals(session).into_iter().rev() {
            self.remove(zxid, &path, events);
        }
    }

    fn write(
        &mut self,
        zxid: Zxid,
        session: SessionId,
        op: &ZkOp,
        events: &mut Vec<(String, EventKind)>,
    ) -> Result<ZkAnswer, ZkError> {
        match op {
            ZkOp::Create {
                path,
                data,
                ephemeral,
                sequential,
            } => self.create(
                zxid,
                path,
                data,
                ephemeral.then_some(session),
                *sequential,
                events,
            ),
            ZkOp::Delete { path, version } => {
                let node = self.nodes.get(path).ok_or(ZkError::NoNode)?;
                check_version(*version, node.stat.version)?;
                if node.stat.num_children > 0 {
                    return Err(ZkError::NotEmpty);
                }
                self.remove(zxid, path, events);
                Ok(ZkAnswer::Deleted)
            }
            ZkOp::SetData {
                path,
                data,
                version,
            } => {
                let node = self.nodes.get(path).ok_or(ZkError::NoNode)?;
                check_version(*version, node.stat.version)?;
                let stat = self.change(path, |node| {
                    node.data = data.clone();
                    node.stat.version += 1;
                    node.stat.mzxid = zxid;
                    node.stat
                });
                events.push((path.clone(), EventKind::NodeDataChanged));
                Ok(ZkAnswer::SetData(stat.expect("checked above")))
            }
            ZkOp::CloseSession => {
                self.close_session(zxid, session, events);
                Ok(ZkAnswer::Closed)
            }
            _ => Err(ZkError::BadArguments),
        }
    }

    fn create(
        &mut self,
        zxid: Zxid,
        path: &str,
        data: &Bytes,
        owner: Option<SessionId>,
        sequential: bool,
        events: &mut Vec<(String, EventKind)>,
    ) -> Result<ZkAnswer, ZkError> {
        let parent_path = parent(path).ok_or(ZkError::BadArguments)?;
        let parent = self.nodes.get(parent_path).ok_or(ZkError::NoNode)?;
        if parent.stat.ephemeral_owner.is_some() {
            return Err(ZkError::NoChildrenForEphemerals);
        }
        let path = if sequential {
            format!("{path}{:010}", parent.stat.cversion)
        } else {
            path.to_string()
        };
        if self.nodes.contains_key(&path) {
            return Err(ZkError::NodeExists);
        }
        self.change(parent_path, |parent| {
            parent.stat.cversion += 1;
            parent.stat.num_children += 1;
            parent.stat.pzxid = zxid;
        });
        let stat = Stat {
            czxid: zxid,
            mzxid: zxid,
            pzxid: zxid,
            ephemeral_owner: owner,
            ..Stat::default()
        };
        let node = Znode {
            data: data.clone(),
            stat,
        };
        self.put(path.clone(), node);
        events.push((path.clone(), EventKind::NodeCreated));
        events.push((parent_path.to_string(), EventKind::NodeChildrenChanged));
        Ok(ZkAnswer::Created { path, stat })
    }

    /// Remove a znode (its children are gone already) and tell its watchers and its parent's.
    fn remove(&mut self, zxid: Zxid, path: &str, events: &mut Vec<(String, EventKind)>) {
        self.take(path);
        let parent_path = parent(path).expect("only / has no parent, and / is never removed");
        let changed = self.change(parent_path, |parent| {
            parent.stat.cversion += 1;
            parent.stat.num_children -= 1;
            parent.stat.pzxid = zxid;
        });
        assert!(changed.is_some(), "a znode's parent exists");
        events.push((path.to_string(), EventKind::NodeDeleted));
        events.push((parent_path.to_string(), EventKind::NodeChildrenChanged));
    }
}

/// `-1` matches any version.
fn check_version(expected: i32, actual: i32) -> Result<(), ZkError> {
    if expected == -1 || expected == actual {
        Ok(())
    } else {
        Err(ZkError::BadVersion)
    }
}

/// The parent of a well-formed path other than `/`; None for `/` and malformed paths.
pub fn parent(path: &str) -> Option<&str> {
    let well_formed =
        path.starts_with('/') && path.len() > 1 && !path.ends_with('/') && !path.contains("//");
    if !well_formed {
        return None;
    }
    match path.rfind('/') {
        Some(0) => Some("/"),
        Some(i) => Some(&path[..i]),
        None => None,
    }
}
