//! Batch files (FHS/BHS/BTS/FTS) and message streams read in constant memory.
