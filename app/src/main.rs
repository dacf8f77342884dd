//! The `hv` binary.
fn main() {
    println!("hv");
}
