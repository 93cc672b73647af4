//! What plugin authors use besides a pipeline: a project scaffold and a
//! harness that runs one plugin on files.

pub mod harness;
pub mod scaffold;
