//! MLLP framing: an encoder, an incremental decoder and Read/Write adapters.
