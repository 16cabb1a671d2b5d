//! Nothing to share: the binaries in `src/bin` are the benchmark's floor and hello world.
