pub mod audio;
pub mod g722;
pub mod g729;
pub mod hdrext;
pub mod rtp;
pub mod seqnum;
pub mod time;
