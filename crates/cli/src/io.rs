//! Input helpers shared by the subcommands.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// Opens `path` for buffered reading; `-` is standard input.
pub fn open(path: &Path) -> io::Result<Box<dyn BufRead>> {
    if path.as_os_str() == "-" {
        Ok(Box::new(BufReader::with_capacity(1 << 16, io::stdin())))
    } else {
        Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            File::open(path).map_err(|e| named(path, e))?,
        )))
    }
}

/// Reads the whole of `path` (`-` is standard input) into memory.
pub fn read_all(path: &Path) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if path.as_os_str() == "-" {
        io::stdin().read_to_end(&mut buf)?;
    } else {
        File::open(path)
            .and_then(|mut f| f.read_to_end(&mut buf))
            .map_err(|e| named(path, e))?;
    }
    Ok(buf)
}

/// `e` with the file it is about named first (`x.hl7: No such file or
/// directory (os error 2)`): an I/O error alone does not say which file.
fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}
