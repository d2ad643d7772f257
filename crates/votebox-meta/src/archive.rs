//! The files of one meta commit as one value for the database (`votebox_meta_snapshot`): a
//! gzipped tar, so the instance that fetched the commit can hand it to the others.
//!
//! [`unpack`] is as strict as reading the commit from git: regular files only, UTF-8 paths, the
//! same per-file and total size limits.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use votebox_core::meta::MetaFiles;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("meta archive unreadable: {0}")]
    Io(#[from] std::io::Error),
    #[error("meta archive entry {0:?} is not a regular file with a UTF-8 path")]
    BadEntry(String),
    #[error("meta archive is over the size limit ({limit} bytes {what})")]
    TooLarge { what: &'static str, limit: u64 },
}

/// `files` as a gzipped tar (paths as given, mode 0644, time 0: the same files give the same bytes).
pub fn pack(files: &MetaFiles) -> Result<Vec<u8>, ArchiveError> {
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, path, content.as_slice())?;
    }
    let mut gz = tar.into_inner()?;
    gz.flush()?;
    Ok(gz.finish()?)
}

/// The files of an archive made by [`pack`], refusing more than `max_file_bytes` in one file or
/// `max_total_bytes` in all.
pub fn unpack(
    archive: &[u8],
    max_file_bytes: u64,
    max_total_bytes: u64,
) -> Result<MetaFiles, ArchiveError> {
    let mut tar = tar::Archive::new(GzDecoder::new(archive));
    let mut files = MetaFiles::new();
    let mut total = 0u64;
    for entry in tar.entries()? {
        let entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let path_bytes = entry.path_bytes();
        if entry.header().entry_type() != tar::EntryType::Regular
            || std::str::from_utf8(&path_bytes).is_err()
        {
            return Err(ArchiveError::BadEntry(path));
        }
        let size = entry.header().size()?;
        if size > max_file_bytes {
            return Err(ArchiveError::TooLarge {
                what: "per file",
                limit: max_file_bytes,
            });
        }
        total += size;
        if total > max_total_bytes {
            return Err(ArchiveError::TooLarge {
                what: "in all",
                limit: max_total_bytes,
            });
        }
        let mut content = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        entry.take(size).read_to_end(&mut content)?;
        files.insert(path, content);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_files_with_long_and_odd_paths() {
        let mut files = MetaFiles::new();
        files.insert(
            "elections/2024/a/election.yaml".into(),
            b"name: A\n".to_vec(),
        );
        let long = format!("elections/{}/candidate-x.md", "d".repeat(150));
        files.insert(long, b"---\nname: X\n---\n".to_vec());
        files.insert(
            "elections/tab\tand sp\u{e4}ce/voters.yaml".into(),
            Vec::new(),
        );
        let packed = pack(&files).unwrap();
        assert_eq!(pack(&files).unwrap(), packed, "deterministic");
        assert_eq!(unpack(&packed, 1 << 20, 1 << 20).unwrap(), files);
    }

    #[test]
    fn enforces_the_size_limits() {
        let mut files = MetaFiles::new();
        files.insert("e/a".into(), vec![b'x'; 100]);
        files.insert("e/b".into(), vec![b'y'; 100]);
        let packed = pack(&files).unwrap();
        assert!(matches!(
            unpack(&packed, 99, 1000),
            Err(ArchiveError::TooLarge { .. })
        ));
        assert!(matches!(
            unpack(&packed, 100, 199),
            Err(ArchiveError::TooLarge { .. })
        ));
        assert!(unpack(b"not gzip", 100, 100).is_err());
    }
}
