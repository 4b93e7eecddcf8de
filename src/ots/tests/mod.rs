//! Tests against small fake OTS servers on real sockets.
