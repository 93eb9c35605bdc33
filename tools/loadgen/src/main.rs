//! Load generator (being written).
fn main() {}
