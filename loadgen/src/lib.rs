//! Load generation (crate doc written with the code).
