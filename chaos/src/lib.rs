//! Chaos: faults that are real on the wire (crate doc written with the code).
