//! Backend conformance suite (feature `testing`): small guest programs that every backend
//! runs through the public traits.
