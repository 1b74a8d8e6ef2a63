//! The per-shard open-file cache: open fds with their metadata and
//! validators, so a hot file costs no `open` or `stat` per request.
//!
//! Entries are bounded in number (the oldest goes first) and revalidated:
//! one older than the validity period is opened and examined again before
//! it is used, and replaced if the file changed. An fd stays open while an
//! entry or a response in flight holds it, so a file replaced on disk keeps
//! serving its old bytes to responses already started.

use super::mime;
use super::open::Root;
use super::path::RelPath;
use bytes::Bytes;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One representation of a resource: the file as it is, or a precompressed
/// sibling.
#[derive(Debug)]
pub(crate) struct Rep {
    pub(crate) file: Rc<File>,
    pub(crate) len: u64,
    /// A strong entity tag, quoted.
    pub(crate) etag: String,
    /// Modification time, whole seconds (what `Last-Modified` can say).
    pub(crate) modified: SystemTime,
    /// `modified` as an HTTP date.
    pub(crate) last_modified: String,
    /// Some of it was out of the page cache when it was opened
    /// ([`super::cold`]); asked only of a file not kept in memory.
    pub(crate) cold: bool,
    /// The whole file, for one no larger than the cache's in-memory limit
    /// ([`super::memory`]).
    pub(crate) bytes: Option<Bytes>,
}

impl Rep {
    /// `coding` (e.g. `gz`) marks a precompressed sibling's tag.
    fn new(file: File, meta: &Metadata, coding: &str) -> Rep {
        let mtime_ns = meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128;
        let secs = u64::try_from(meta.mtime()).unwrap_or(0);
        let modified = UNIX_EPOCH + Duration::from_secs(secs);
        Rep {
            file: Rc::new(file),
            len: meta.len(),
            // Inode, size and nanosecond mtime: a new file, or any write,
            // gives a new tag.
            etag: format!(
                "\"{:x}-{:x}-{:x}{}{coding}\"",
                meta.ino(),
                meta.len(),
                mtime_ns,
                if coding.is_empty() { "" } else { "-" }
            ),
            modified,
            last_modified: httpdate::fmt_http_date(modified),
            cold: false,
            bytes: None,
        }
    }

    /// Reads the whole file into memory if it is no larger than `max`;
    /// otherwise asks whether the page cache holds it (a file in memory
    /// never goes by `sendfile`, so that question would be wasted on it).
    async fn prepare(mut self, max: u64) -> Rep {
        if self.len <= max {
            self.bytes = super::memory::load(&self.file, self.len).await;
        }
        if self.bytes.is_none() {
            self.cold = super::cold::is_cold(&self.file, self.len);
        }
        self
    }
}

/// A regular file, with its precompressed siblings (`.br`, `.gz`).
#[derive(Debug)]
pub(crate) struct FileInfo {
    pub(crate) rep: Rep,
    pub(crate) content_type: &'static str,
    pub(crate) br: Option<Box<Rep>>,
    pub(crate) gz: Option<Box<Rep>>,
}

/// What a path names.
#[derive(Debug)]
pub(crate) enum Kind {
    /// A regular file.
    File(FileInfo),
    /// A directory, held open for listing.
    Dir(Rc<File>),
}

/// A cached lookup.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) kind: Kind,
    checked: Instant,
}

/// The cache's settings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CacheConfig {
    pub(crate) capacity: usize,
    pub(crate) valid: Duration,
    pub(crate) precompressed: bool,
    /// Files up to this size are kept in memory.
    pub(crate) in_memory_max: u64,
}

/// Open files by relative path, for one shard.
#[derive(Debug)]
pub(crate) struct Cache {
    root: Root,
    config: CacheConfig,
    map: RefCell<HashMap<String, Rc<Entry>>>,
    /// Insertion order, for eviction. May name paths already replaced or
    /// evicted; those are skipped.
    order: RefCell<VecDeque<String>>,
}

impl Cache {
    pub(crate) fn new(root: Root, config: CacheConfig) -> Cache {
        Cache {
            root,
            config,
            map: RefCell::default(),
            order: RefCell::default(),
        }
    }

    pub(crate) fn config_mut(&mut self) -> &mut CacheConfig {
        &mut self.config
    }

    /// The entry for `rel`, from the cache while it is fresh, otherwise
    /// opened (beneath the root) and cached.
    pub(crate) async fn get(&self, rel: &str) -> io::Result<Rc<Entry>> {
        // The turn's clock: a hit reads no clock of its own, and an entry
        // is revalidated at most one loop turn after it stops being fresh.
        let now = shardio::time::coarse_now();
        let cached = self.map.borrow().get(rel).cloned();
        if let Some(entry) = cached {
            if now.duration_since(entry.checked) < self.config.valid {
                return Ok(entry);
            }
        }
        let entry = match self.open(rel).await {
            Ok(entry) => Rc::new(entry),
            Err(e) => {
                self.map.borrow_mut().remove(rel);
                return Err(e);
            }
        };
        if self.config.capacity > 0 {
            self.insert(rel, entry.clone());
        }
        Ok(entry)
    }

    fn insert(&self, rel: &str, entry: Rc<Entry>) {
        let mut map = self.map.borrow_mut();
        let mut order = self.order.borrow_mut();
        if map.insert(rel.to_owned(), entry).is_none() {
            order.push_back(rel.to_owned());
        }
        while map.len() > self.config.capacity {
            let Some(oldest) = order.pop_front() else {
                break;
            };
            map.remove(&oldest);
        }
        // Keep the order list from growing without bound.
        if order.len() > 2 * self.config.capacity.max(16) {
            order.retain(|p| map.contains_key(p));
        }
    }

    async fn open(&self, rel: &str) -> io::Result<Entry> {
        let path = RelPath::c_string(rel, "");
        let file = self.root.open_beneath(path).await?;
        let meta = file.metadata()?;
        let kind = if meta.is_dir() {
            Kind::Dir(Rc::new(file))
        } else if meta.is_file() {
            let (br, gz) = if self.config.precompressed {
                (
                    self.sibling(rel, ".br").await,
                    self.sibling(rel, ".gz").await,
                )
            } else {
                (None, None)
            };
            let max = self.config.in_memory_max;
            Kind::File(FileInfo {
                rep: Rep::new(file, &meta, "").prepare(max).await,
                content_type: mime::content_type(rel),
                br,
                gz,
            })
        } else {
            // FIFOs, sockets, devices: never served.
            return Err(io::Error::from(io::ErrorKind::PermissionDenied));
        };
        Ok(Entry {
            kind,
            checked: Instant::now(),
        })
    }

    /// A precompressed sibling of `rel`, if there is a regular file by that
    /// name.
    async fn sibling(&self, rel: &str, suffix: &str) -> Option<Box<Rep>> {
        let file = self
            .root
            .open_beneath(RelPath::c_string(rel, suffix))
            .await
            .ok()?;
        let meta = file.metadata().ok()?;
        let tag = &suffix[1..];
        if !meta.is_file() {
            return None;
        }
        let rep = Rep::new(file, &meta, tag);
        Some(Box::new(rep.prepare(self.config.in_memory_max).await))
    }
}
