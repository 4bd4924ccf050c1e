// Package blob stores files, meeting recordings and exports for tenants,
// encrypted with the tenant's keys before they leave the process.
//
// Blob is the storage interface. Its implementations (dir, a local
// directory; later s3) never see plaintext: they write what SealStream
// produces and read through OpenStream. The encryption is a chunked stream
// of AES-256-GCM under the tenant's current data key, which this package
// obtains through the small Keys interface (keys.Service implements it):
//
//	header (32 bytes): magic "KAIGIBL" | format 0x01 | key version (uint32) | chunk size (uint32) | random stream id (16)
//	chunk*:            nonce (12) | ciphertext (chunk size bytes; the last may be shorter) | tag (16)
//
// Each chunk's additional data binds the tenant, the blob's key, the whole
// header (so the key version, the chunk size and the stream id) and the
// chunk's index and a final-chunk flag. A reader therefore detects any
// changed byte, chunks reordered, dropped or added, a stream cut at a chunk
// boundary, chunks spliced in from another version of the same blob, and a
// blob moved to another tenant or key. An empty blob is one empty final
// chunk, so it is authenticated too.
//
// Reads are streamed: each chunk is authenticated before any of its bytes are
// returned, so a reader never returns unauthenticated data, but a damage late
// in a blob is reported, as an error from Read, only after the earlier chunks
// were returned. A consumer must treat a blob as unreadable if Read returns
// any error other than io.EOF.
//
// Once the tenant's keys are shredded (keys.Service.Shred), every copy of its
// blobs, anywhere, is unreadable.
package blob
