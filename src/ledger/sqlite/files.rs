//! Making the database file private before SQLite ever touches it.
//!
//! The ledger holds receipt and secret keys, which are bearer capabilities, so the file and its
//! `-wal`/`-shm` companions must be readable by the gateway's user alone. SQLite creates the
//! companions with the main file's permissions, so getting the main file right is enough for new
//! companions; leftovers from an earlier run are tightened here as well.

use std::fs::{self, DirBuilder, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::ledger::LedgerError;

pub(super) const FILE_MODE: u32 = 0o600;
pub(super) const DIR_MODE: u32 = 0o700;

/// Suffixes SQLite appends for the files that live beside the database.
const COMPANION_SUFFIXES: [&str; 3] = ["-wal", "-shm", "-journal"];

/// Creates missing parent directories (owner-only) and the database file (0600), and tightens an
/// existing file to 0600. Returns with no descriptor to the file left open: see below.
pub(super) fn prepare_database_file(path: &Path) -> Result<(), LedgerError> {
    create_parent_dirs(path)?;
    refuse_symlink(path)?;

    // Closing any descriptor to a database file drops every POSIX lock this process holds on it,
    // including SQLite's. The file handle is therefore dropped at the end of this block, before
    // SQLite opens the file.
    {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .mode(FILE_MODE)
            .open(path)
            .map_err(LedgerError::io(path, "create the database file"))?;
        let metadata = file
            .metadata()
            .map_err(LedgerError::io(path, "inspect the database file"))?;
        if !metadata.is_file() {
            return Err(LedgerError::UnusablePath {
                path: path.to_path_buf(),
                reason: "not a regular file",
            });
        }
        // Exact comparison, not "no group/other bits": the umask may also have stripped our own
        // write bit, and an owner-read-only file would fail on the first write instead of here.
        if metadata.permissions().mode() & 0o777 != FILE_MODE {
            file.set_permissions(Permissions::from_mode(FILE_MODE))
                .map_err(LedgerError::io(
                    path,
                    "restrict the database file to mode 0600",
                ))?;
        }
    }

    for suffix in COMPANION_SUFFIXES {
        tighten_if_present(&companion_path(path, suffix))?;
    }
    Ok(())
}

pub(super) fn companion_path(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn create_parent_dirs(path: &Path) -> Result<(), LedgerError> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    // One level at a time, so each directory this call creates is known and can be set to exactly
    // 0700 (the umask could have stripped owner bits too); existing ones are the operator's.
    let missing: Vec<&Path> = parent
        .ancestors()
        .take_while(|dir| !dir.as_os_str().is_empty() && !dir.exists())
        .collect();
    for dir in missing.into_iter().rev() {
        match DirBuilder::new().mode(DIR_MODE).create(dir) {
            Ok(()) => fs::set_permissions(dir, Permissions::from_mode(DIR_MODE)).map_err(
                LedgerError::io(dir, "restrict the ledger directory to mode 0700"),
            )?,
            // Another process created it meanwhile; it is theirs to have set up.
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(LedgerError::io(dir, "create the ledger directory")(err)),
        }
    }
    Ok(())
}

/// A symlink could point the ledger (and our chmod) at a file the operator did not mean; SQLite is
/// also opened with `NOFOLLOW`, so this only makes the refusal happen before anything changes.
fn refuse_symlink(path: &Path) -> Result<(), LedgerError> {
    match fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_symlink() => Err(LedgerError::UnusablePath {
            path: path.to_path_buf(),
            reason: "is a symbolic link",
        }),
        Ok(_) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(LedgerError::io(path, "inspect the database path")(err)),
    }
}

fn tighten_if_present(path: &Path) -> Result<(), LedgerError> {
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => {
            return Err(LedgerError::io(path, "inspect a database companion file")(
                err,
            ));
        }
    };
    if !metadata.is_file() {
        return Err(LedgerError::UnusablePath {
            path: path.to_path_buf(),
            reason: "database companion file is not a regular file",
        });
    }
    if metadata.permissions().mode() & 0o777 != FILE_MODE {
        fs::set_permissions(path, Permissions::from_mode(FILE_MODE)).map_err(LedgerError::io(
            path,
            "restrict a database companion file to mode 0600",
        ))?;
    }
    Ok(())
}
