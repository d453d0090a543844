//! Compiler tests: name resolution, compile errors with spans, metadata, folding.
