package smb

import "github.com/nettrace/nettrace/internal/wire"

// This file reads the file names out of the information structures that
// QUERY_DIRECTORY and QUERY_INFO responses carry ([MS-FSCC] 2.4). The
// structures are chosen by the request's information class, so the
// parsers take it as a parameter.

// nameAt gives, for each directory information class, the offsets of the
// FileNameLength field and of the FileName in one entry ([MS-FSCC] 2.4).
var nameAt = map[uint8]struct{ length, name int }{
	1:  {60, 64},  // FileDirectoryInformation 2.4.10
	2:  {60, 68},  // FileFullDirectoryInformation 2.4.14
	3:  {60, 94},  // FileBothDirectoryInformation 2.4.8
	12: {8, 12},   // FileNamesInformation 2.4.28
	37: {60, 104}, // FileIdBothDirectoryInformation 2.4.17
	38: {60, 80},  // FileIdFullDirectoryInformation 2.4.18
	60: {60, 88},  // FileIdExtdDirectoryInformation 2.4.19
}

// DirectoryNames returns the file names of the entries of a QUERY_DIRECTORY
// output buffer of information class class ([MS-FSCC] 2.4), at most max of
// them, and how many entries the buffer holds. Entries are chained by
// NextEntryOffset; a chain that points backwards or outside the buffer, or
// a name outside its entry, ends the walk with ok false. An unknown class
// gives no names and ok false.
func DirectoryNames(buf []byte, class uint8, max int) (names []string, total int, ok bool) {
	at, known := nameAt[class]
	if !known {
		return nil, 0, false
	}
	off := 0
	for off < len(buf) {
		entry := wire.Reader(buf[off:])
		var next, n uint32
		fields := entry
		if !fields.ReadUint32(&next) || !fields.Skip(at.length-4) || !fields.ReadUint32(&n) {
			return names, total, false
		}
		name, fits := wire.Field(buf[off:], at.name, int(min(n, 1<<16)))
		if !fits || n > 1<<16 {
			return names, total, false
		}
		total++
		if len(names) < max {
			names = append(names, utf16String([]byte(name)))
		}
		if next == 0 {
			return names, total, true
		}
		if next < uint32(at.name) || uint64(off)+uint64(next) > uint64(len(buf)) {
			return names, total, false
		}
		off += int(next)
	}
	return names, total, true
}

// InfoFileName returns the file name a QUERY_INFO output buffer carries, for
// SMB2_0_INFO_FILE (infoType 1) with FileAllInformation (class 18: the name
// after 96 bytes of other information, [MS-FSCC] 2.4.2) or
// FileNameInformation, FileAlternateNameInformation and
// FileNormalizedNameInformation (9, 21, 48: length then name, 2.4.32).
func InfoFileName(buf []byte, infoType, class uint8) (string, bool) {
	if infoType != 1 {
		return "", false
	}
	skip := 0
	switch class {
	case 18:
		skip = 96
	case 9, 21, 48:
	default:
		return "", false
	}
	r := wire.Reader(buf)
	var n uint32
	if !r.Skip(skip) || !r.ReadUint32(&n) || n > 1<<16 {
		return "", false
	}
	var name []byte
	if !r.ReadBytes(&name, int(n)) {
		return "", false
	}
	return utf16String(name), true
}
