package blob

import (
	"bufio"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/kaigi/kaigi/internal/ids"
)

// ChunkSize is how many plaintext bytes SealStream puts in each chunk.
const ChunkSize = 64 << 10

// The stream format; see the package documentation.
const (
	streamMagic    = "KAIGIBL"
	streamFormatV1 = 0x01
	streamIDSize   = 16
	// HeaderSize is the size of a sealed stream's header.
	HeaderSize = len(streamMagic) + 1 + 4 + 4 + streamIDSize
	// ChunkOverhead is how many bytes sealing adds to each chunk: a 12-byte
	// nonce and a 16-byte tag.
	ChunkOverhead = 12 + 16
	// maxChunkSize bounds the chunk size a reader accepts from a header
	// before it is authenticated, and so the memory a damaged header can
	// make it allocate.
	maxChunkSize = 1 << 20
	chunkLabel   = "kaigi.blob.chunk.v1"
)

// SealedSize returns the size of the sealed stream of a plaintext of n bytes.
func SealedSize(n int64) int64 {
	chunks := max((n+ChunkSize-1)/ChunkSize, 1)
	return int64(HeaderSize) + n + chunks*ChunkOverhead
}

// SealStream reads src to its end and writes it to dst encrypted under the
// tenant's current data key, bound to tenant and key, in the format described
// in the package documentation. It returns how many plaintext bytes it read.
// Plaintext reaches dst only encrypted. If it fails, what it wrote to dst is
// to be thrown away.
func SealStream(ctx context.Context, keys Keys, tenant ids.TenantID, key string, dst io.Writer, src io.Reader) (int64, error) {
	if err := Valid(tenant, key); err != nil {
		return 0, err
	}
	version, aead, err := keys.CurrentKey(ctx, tenant)
	if err != nil {
		return 0, fmt.Errorf("blob: seal: %w", err)
	}
	if err := checkAEAD(aead); err != nil {
		return 0, err
	}
	header := make([]byte, 0, HeaderSize)
	header = append(header, streamMagic...)
	header = append(header, streamFormatV1)
	header = binary.BigEndian.AppendUint32(header, version)
	header = binary.BigEndian.AppendUint32(header, ChunkSize)
	header = header[:HeaderSize]
	if _, err := io.ReadFull(rand.Reader, header[HeaderSize-streamIDSize:]); err != nil {
		return 0, fmt.Errorf("blob: seal: random source failed: %w", err)
	}
	if _, err := dst.Write(header); err != nil {
		return 0, fmt.Errorf("blob: seal: %w", err)
	}

	ad := newChunkAAD(tenant, key, header)
	br := bufio.NewReader(src)
	plain := make([]byte, ChunkSize)
	sealed := make([]byte, 0, ChunkSize+ChunkOverhead)
	var total int64
	for index := uint64(0); ; index++ {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := io.ReadFull(br, plain)
		final := false
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			final = true
		case err != nil:
			return total, fmt.Errorf("blob: seal: read: %w", err)
		default:
			// A full chunk: it is the last one if nothing follows.
			if _, err := br.Peek(1); err == io.EOF {
				final = true
			} else if err != nil {
				return total, fmt.Errorf("blob: seal: read: %w", err)
			}
		}
		sealed = aead.Seal(sealed[:0], nil, plain[:n], ad.at(index, final))
		if _, err := dst.Write(sealed); err != nil {
			return total, fmt.Errorf("blob: seal: %w", err)
		}
		total += int64(n)
		if final {
			clear(plain)
			return total, nil
		}
	}
}

// OpenStream reads a stream written by SealStream for the same tenant and key
// from src and returns a reader of its plaintext. It reads and authenticates
// the first chunk before it returns, so a stream that is damaged at its
// start, moved from elsewhere, or whose tenant was shredded fails here.
// Reading fails with ErrTampered at the first chunk that does not
// authenticate, and with ctx's error once ctx is done.
func OpenStream(ctx context.Context, keys Keys, tenant ids.TenantID, key string, src io.Reader) (io.Reader, error) {
	if err := Valid(tenant, key); err != nil {
		return nil, err
	}
	header := make([]byte, HeaderSize)
	if _, err := io.ReadFull(src, header); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("blob: open: %w: truncated header", ErrTampered)
		}
		return nil, fmt.Errorf("blob: open: %w", err)
	}
	if string(header[:len(streamMagic)]) != streamMagic || header[len(streamMagic)] != streamFormatV1 {
		return nil, fmt.Errorf("blob: open: %w: not a sealed blob of a known format", ErrTampered)
	}
	version := binary.BigEndian.Uint32(header[len(streamMagic)+1:])
	chunkSize := binary.BigEndian.Uint32(header[len(streamMagic)+5:])
	if version == 0 || chunkSize == 0 || chunkSize > maxChunkSize {
		return nil, fmt.Errorf("blob: open: %w: bad header", ErrTampered)
	}
	aead, err := keys.KeyVersion(ctx, tenant, version)
	if err != nil {
		return nil, fmt.Errorf("blob: open: %w", err)
	}
	if err := checkAEAD(aead); err != nil {
		return nil, err
	}
	r := &reader{
		ctx:    ctx,
		aead:   aead,
		ad:     newChunkAAD(tenant, key, header),
		src:    bufio.NewReaderSize(src, int(chunkSize)+ChunkOverhead),
		record: make([]byte, int(chunkSize)+ChunkOverhead),
		buf:    make([]byte, 0, chunkSize),
	}
	if err := r.next(); err != nil {
		return nil, err
	}
	return r, nil
}

// checkAEAD refuses an AEAD that expects the caller to supply nonces: this
// format relies on the AEAD drawing a fresh random one for every chunk.
func checkAEAD(a cipher.AEAD) error {
	if a == nil || a.NonceSize() != 0 || a.Overhead() != ChunkOverhead {
		return errors.New("blob: Keys must return AES-GCM AEADs with random nonces")
	}
	return nil
}

// reader decrypts a sealed stream chunk by chunk.
type reader struct {
	ctx    context.Context
	aead   cipher.AEAD
	ad     *chunkAAD
	src    *bufio.Reader
	record []byte // one sealed chunk
	buf    []byte // its plaintext
	plain  []byte // authenticated plaintext not yet returned (in buf)
	index  uint64 // of the next chunk
	done   bool   // the final chunk was read
	err    error  // sticky
}

func (r *reader) Read(p []byte) (int, error) {
	for len(r.plain) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.done {
			return 0, io.EOF
		}
		r.err = r.next()
	}
	n := copy(p, r.plain)
	r.plain = r.plain[n:]
	return n, nil
}

// next reads and authenticates the next chunk into r.plain.
func (r *reader) next() error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	n, err := io.ReadFull(r.src, r.record)
	final := false
	switch {
	case err == io.EOF:
		return fmt.Errorf("blob: read: %w: truncated (final chunk missing)", ErrTampered)
	case err == io.ErrUnexpectedEOF:
		final = true // a short chunk can only be the last one
	case err != nil:
		return fmt.Errorf("blob: read: %w", err)
	default:
		if _, err := r.src.Peek(1); err == io.EOF {
			final = true
		} else if err != nil {
			return fmt.Errorf("blob: read: %w", err)
		}
	}
	if n < ChunkOverhead {
		return fmt.Errorf("blob: read: %w: truncated chunk", ErrTampered)
	}
	plain, err := r.aead.Open(r.buf[:0], nil, r.record[:n], r.ad.at(r.index, final))
	if err != nil {
		return fmt.Errorf("blob: read: %w: chunk %d failed authentication", ErrTampered, r.index)
	}
	r.plain = plain
	r.index++
	r.done = final
	return nil
}

// chunkAAD builds the additional data of each chunk: the label, tenant and
// key length-prefixed, the header, then the chunk index and the final flag.
type chunkAAD struct {
	b      []byte
	prefix int
}

func newChunkAAD(tenant ids.TenantID, key string, header []byte) *chunkAAD {
	b := make([]byte, 0, 12+len(chunkLabel)+len(tenant)+len(key)+len(header)+9)
	for _, f := range []string{chunkLabel, string(tenant), key} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	b = append(b, header...)
	return &chunkAAD{b: b, prefix: len(b)}
}

// at returns the additional data of chunk index; it is valid until the next
// call.
func (a *chunkAAD) at(index uint64, final bool) []byte {
	a.b = binary.BigEndian.AppendUint64(a.b[:a.prefix], index)
	if final {
		return append(a.b, 1)
	}
	return append(a.b, 0)
}
