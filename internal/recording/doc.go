// Package recording records meetings: it turns the RTP packets that an
// sfu.Recording taps from a room into WebM files (Opus audio, VP8 video) and
// streams them, sealed, into the blob store.
//
// # Files
//
// A Recorder is an sfu.RecordingSink. It writes one file per participant for
// their microphone and camera ([CameraMicrophone]) and one per screen share
// with its audio, if any ([Screen]). Nothing is mixed: there is no
// server-side compositing of a grid and no mixing of the participants'
// audio; a player lines the files up by [File.Start]. A file holds at most
// one audio and one video track. When a track joins a file already being
// written (a camera switched on after the microphone, a track published
// again), that file ends and a new one begins with every live track of the
// participant's kind, so one participant may leave several files. A new
// file waits up to [Options.Settle] for all its tracks (a camera's first
// keyframe) before it starts with those that have sent something.
//
// Only Opus and VP8 tracks are recorded (WebM's codecs; the SFU offers them
// first); others are skipped with a warning.
//
// # Timing
//
// A frame's time is its track's first packet's arrival at the SFU (relative
// to the recording's first packet) plus its RTP timestamp relative to that
// first packet's. Audio and video of one participant are thus aligned to
// within the network jitter of their first packets; RTCP sender reports are
// not used. The SFU keeps timestamps continuous across simulcast layer
// switches and mutes, so a mute is a gap in the file as long as the mute.
// Frames of a file's tracks are interleaved in time order, waiting at most a
// second for a slower track.
//
// # Format
//
// Files are written as a live stream (the destination cannot seek): Segment
// and Clusters of unknown size, no Cues and no Duration in the header, like
// the WebM a browser's MediaRecorder makes. Browsers and ffmpeg play them;
// seeking works by scanning clusters, which start at video keyframes (at
// least half a second apart) and at least every five seconds. Video starts
// at a keyframe; after lost packets the video skips to the next keyframe
// (the Recorder asks the publisher for one). The Opus header's pre-skip is 0:
// RTP does not carry the encoder's.
//
// # Confidentiality
//
// [SealedOutput] streams a file through a pipe into the blob store's Put,
// which seals it chunk by chunk with the tenant's keys (blob.SealStream):
// recordings exist in plaintext only in memory, one chunk and the frames
// awaiting interleaving at a time.
package recording
