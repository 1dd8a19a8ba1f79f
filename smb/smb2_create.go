package smb

import (
	"fmt"

	"github.com/nettrace/nettrace/internal/wire"
)

// FileID is an SMB2_FILEID ([MS-SMB2] 2.2.14.1).
type FileID struct{ Persistent, Volatile uint64 }

// String returns the two halves in hex.
func (f FileID) String() string { return fmt.Sprintf("%016x:%016x", f.Persistent, f.Volatile) }

// maxCreateContexts caps the names listed from one CREATE context chain.
const maxCreateContexts = 32

// parseCreateRequest2 reads an SMB2 CREATE request ([MS-SMB2] 2.2.13): access,
// disposition, options, the file name and the create context names.
func parseCreateRequest2(p body2) (Body2, error) {
	var b Body2
	r := &p.r
	var nameOff, nameLen uint16
	var ctxOff, ctxLen uint32
	// SecurityFlags 1, RequestedOplockLevel 1, ImpersonationLevel 4,
	// SmbCreateFlags 8, Reserved 8; FileAttributes 4, ShareAccess 4.
	if !r.Skip(1+1+4+8+8) || !r.ReadUint32(&b.DesiredAccess) || !r.Skip(4+4) || !r.ReadUint32(&b.Disposition) ||
		!r.ReadUint32(&b.CreateOptions) || !r.ReadUint16(&nameOff) || !r.ReadUint16(&nameLen) ||
		!r.ReadUint32(&ctxOff) || !r.ReadUint32(&ctxLen) {
		return Body2{}, p.short()
	}
	var err error
	if b.FileName, err = p.utf16Buffer("name", nameOff, nameLen); err != nil {
		return Body2{}, err
	}
	if b.CreateContexts, err = p.createContexts(ctxOff, ctxLen); err != nil {
		return Body2{}, err
	}
	return b, nil
}

// parseCreateResponse2 reads an SMB2 CREATE response ([MS-SMB2] 2.2.14): the
// create action, end of file, the FileId and the create context names.
func parseCreateResponse2(p body2) (Body2, error) {
	var b Body2
	r := &p.r
	var ctxOff, ctxLen uint32
	// OplockLevel 1, Flags 1; four times 8, AllocationSize 8;
	// FileAttributes 4, Reserved2 4.
	if !r.Skip(1+1) || !r.ReadUint32(&b.CreateAction) || !r.Skip(8*4+8) || !r.ReadUint64(&b.EndOfFile) ||
		!r.Skip(4+4) || !p.readFileID(&b.FileID) || !r.ReadUint32(&ctxOff) || !r.ReadUint32(&ctxLen) {
		return Body2{}, p.short()
	}
	var err error
	if b.CreateContexts, err = p.createContexts(ctxOff, ctxLen); err != nil {
		return Body2{}, err
	}
	return b, nil
}

// createContexts returns the names of the context chain at off with n
// bytes, nil when there is none.
func (p *body2) createContexts(off, n uint32) ([]string, error) {
	if n == 0 {
		return nil, nil
	}
	cc, err := p.buffer("create contexts", off, n)
	if err != nil {
		return nil, err
	}
	return createContextNames(cc), nil
}

// createContextNames lists the names of an SMB2 CREATE context chain
// ([MS-SMB2] 2.2.13.2); it stops at a context that does not fit or after
// maxCreateContexts.
func createContextNames(base []byte) []string {
	pos := 0
	var out []string
	for i := 0; i < maxCreateContexts; i++ {
		r, ok := wire.Field(base, pos, 16)
		if !ok {
			break
		}
		var next uint32
		var nameOff, nameLen uint16
		r.ReadUint32(&next)
		r.ReadUint16(&nameOff)
		r.ReadUint16(&nameLen)
		name, ok := wire.Field(base, pos+int(nameOff), int(nameLen))
		if !ok {
			break
		}
		out = append(out, printable(name))
		if next == 0 || next > uint32(len(base)) {
			break
		}
		pos += int(next)
	}
	return out
}

// parseCloseRequest2 reads an SMB2 CLOSE request ([MS-SMB2] 2.2.15) or FLUSH
// request (2.2.17), which share their layout: 2 bytes of flags or
// reserved, 4 reserved, the FileId.
func parseCloseRequest2(p body2) (Body2, error) {
	var b Body2
	if !p.r.Skip(2+4) || !p.readFileID(&b.FileID) {
		return Body2{}, p.short()
	}
	return b, nil
}

// parseOplockBreak2 reads an SMB2 OPLOCK_BREAK notification, acknowledgment or
// response ([MS-SMB2] 2.2.23-2.2.25): the oplock level and FileId of the
// oplock form (StructureSize 24); the lease forms only set Lease.
func parseOplockBreak2(p body2) (Body2, error) {
	var b Body2
	if p.size != 24 {
		b.Lease = true
		return b, nil
	}
	if !p.r.ReadUint8(&b.OplockLevel) || !p.r.Skip(1+4) || !p.readFileID(&b.FileID) {
		return Body2{}, p.short()
	}
	return b, nil
}
