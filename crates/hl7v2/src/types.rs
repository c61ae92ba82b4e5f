//! Typed views over common HL7 v2 data types.
