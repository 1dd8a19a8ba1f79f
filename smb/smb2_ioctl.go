package smb

// FSCTL codes named by the decoder ([MS-FSCC] 2.3).
const (
	FSCTLPipeTransceive    = 0x0011c017
	FSCTLPipeWait          = 0x00110018
	FSCTLPipePeek          = 0x0011400c
	FSCTLDFSGetReferrals   = 0x00060194
	FSCTLValidateNegotiate = 0x00140204
)

// parseIoctlRequest2 reads an SMB2 IOCTL request ([MS-SMB2] 2.2.31): the
// control code, FileId and the input that is present. The request's output
// buffer is empty by definition and is not kept.
func parseIoctlRequest2(p body2) (Body2, error) {
	b, err := parseIoctl2(p)
	b.Output = nil
	return b, err
}

// parseIoctlResponse2 reads an SMB2 IOCTL response ([MS-SMB2] 2.2.32): the
// control code, FileId, and the input and output that are present.
func parseIoctlResponse2(p body2) (Body2, error) { return parseIoctl2(p) }

// parseIoctl2 reads the fields the IOCTL request and response share; the
// request has MaxInputResponse between the input and the output fields.
func parseIoctl2(p body2) (Body2, error) {
	var b Body2
	r := &p.r
	var inOff, inLen, outOff, outLen uint32
	if !r.Skip(2) || !r.ReadUint32(&b.CtlCode) || !p.readFileID(&b.FileID) || !r.ReadUint32(&inOff) || !r.ReadUint32(&inLen) {
		return Body2{}, p.short()
	}
	if !p.h.IsResponse() && !r.Skip(4) {
		return Body2{}, p.short()
	}
	if !r.ReadUint32(&outOff) || !r.ReadUint32(&outLen) {
		return Body2{}, p.short()
	}
	b.Input = p.partial(inOff, inLen)
	b.Output = p.partial(outOff, outLen)
	return b, nil
}
