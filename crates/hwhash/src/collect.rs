//! Collecting this Linux machine's hash (in progress).
