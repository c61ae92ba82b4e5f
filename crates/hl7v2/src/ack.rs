//! ACK messages: building the acknowledgement for a message.
