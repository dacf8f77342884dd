//! The 8254 programmable interval timer (work in progress).
