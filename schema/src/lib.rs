//! Plaza's wire protocol: FlatBuffers schemas, generated code, encoders and verified decoders.
#![deny(missing_docs)]
