//! UK Core: identifier systems, extension URLs, typed helpers and profile checks.
