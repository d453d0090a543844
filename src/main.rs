//! The `segmentation` binary (commands arrive with the PQL engine merge).

fn main() {}
