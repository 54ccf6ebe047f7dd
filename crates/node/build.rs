//! Sets the linker flags a Node.js addon needs on the target platform (napi-build does it).

fn main() {
    napi_build::setup();
}
