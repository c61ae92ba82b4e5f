//! Generator part: meta.

use std::error::Error;
use std::path::Path;

/// Writes this part's generated files under `out` (`crates/fhir/src`), reading `defs`.
pub fn generate(_defs: &Path, _out: &Path) -> Result<(), Box<dyn Error>> {
    Ok(())
}
