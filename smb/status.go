package smb

import "fmt"

// Status is an NT status code ([MS-ERREF] 2.3). SMB1 DOS errors are kept
// apart in DOSError (see Header1).
type Status uint32

// NT status codes that the decoder treats specially ([MS-ERREF] 2.3.1).
const (
	StatusSuccess                 Status = 0x00000000
	StatusPending                 Status = 0x00000103
	StatusBufferOverflow          Status = 0x80000005
	StatusNoMoreFiles             Status = 0x80000006
	StatusMoreProcessingRequired  Status = 0xc0000016
	StatusEndOfFile               Status = 0xc0000011
	StatusAccessDenied            Status = 0xc0000022
	StatusObjectNameNotFound      Status = 0xc0000034
	StatusLogonFailure            Status = 0xc000006d
	StatusBadNetworkName          Status = 0xc00000cc
	StatusNotFound                Status = 0xc0000225
	StatusCancelled               Status = 0xc0000120
	StatusNotifyEnumDir           Status = 0x0000010c
	StatusNetworkSessionExpired   Status = 0xc000035c
	StatusUserSessionDeleted      Status = 0xc0000203
	StatusNetworkNameDeleted      Status = 0xc00000c9
	StatusInvalidParameter        Status = 0xc000000d
	StatusNoSuchFile              Status = 0xc000000f
	StatusFileClosed              Status = 0xc0000128
	StatusInsufficientResources   Status = 0xc000009a
	StatusNotSupported            Status = 0xc00000bb
	StatusObjectNameCollision     Status = 0xc0000035
	StatusSharingViolation        Status = 0xc0000043
	StatusAccountDisabled         Status = 0xc0000072
	StatusPasswordExpired         Status = 0xc0000071
	StatusAccountLockedOut        Status = 0xc0000234
	StatusAccountRestriction      Status = 0xc000006e
	StatusWrongPassword           Status = 0xc000006a
	StatusNoSuchUser              Status = 0xc0000064
	StatusPipeDisconnected        Status = 0xc00000b0
	StatusPipeBroken              Status = 0xc000014b
	StatusObjectPathNotFound      Status = 0xc000003a
	StatusFileIsADirectory        Status = 0xc00000ba
	StatusNotADirectory           Status = 0xc0000103
	StatusDiskFull                Status = 0xc000007f
	StatusIOTimeout               Status = 0xc00000b5
	StatusInvalidHandle           Status = 0xc0000008
	StatusNotImplemented          Status = 0xc0000002
	StatusInvalidDeviceRequest    Status = 0xc0000010
	StatusRequestNotAccepted      Status = 0xc00000d0
	StatusFSDriverRequired        Status = 0xc000019c
	StatusLockNotGranted          Status = 0xc0000055
	StatusFileLockConflict        Status = 0xc0000054
	StatusDeletePending           Status = 0xc0000056
	StatusBadNetworkPath          Status = 0xc00000be
	StatusNetworkAccessDenied     Status = 0xc00000ca
	StatusSMBBadUID               Status = 0x005b0002
	StatusSMBBadTID               Status = 0x00050002
	StatusInvalidInfoClass        Status = 0xc0000003
	StatusInfoLengthMismatch      Status = 0xc0000004
	StatusBufferTooSmall          Status = 0xc0000023
	StatusDirectoryNotEmpty       Status = 0xc0000101
	StatusInvalidNetworkResponse  Status = 0xc00000c3
	StatusNoSuchDevice            Status = 0xc000000e
	StatusUnexpectedNetworkError  Status = 0xc00000c4
	StatusTimeDifferenceAtDC      Status = 0xc0000133
	StatusTrustedRelationshipFail Status = 0xc000018d
	StatusNoLogonServers          Status = 0xc000005e
	StatusDuplicateName           Status = 0xc00000bd
	StatusPathNotCovered          Status = 0xc0000257
	StatusStoppedOnSymlink        Status = 0x8000002d
	StatusNoEASOnFile             Status = 0xc0000052
	StatusInvalidSMB              Status = 0x00010002
)

var statusNames = map[Status]string{
	StatusSuccess:                 "STATUS_SUCCESS",
	StatusPending:                 "STATUS_PENDING",
	StatusBufferOverflow:          "STATUS_BUFFER_OVERFLOW",
	StatusNoMoreFiles:             "STATUS_NO_MORE_FILES",
	StatusMoreProcessingRequired:  "STATUS_MORE_PROCESSING_REQUIRED",
	StatusEndOfFile:               "STATUS_END_OF_FILE",
	StatusAccessDenied:            "STATUS_ACCESS_DENIED",
	StatusObjectNameNotFound:      "STATUS_OBJECT_NAME_NOT_FOUND",
	StatusLogonFailure:            "STATUS_LOGON_FAILURE",
	StatusBadNetworkName:          "STATUS_BAD_NETWORK_NAME",
	StatusNotFound:                "STATUS_NOT_FOUND",
	StatusCancelled:               "STATUS_CANCELLED",
	StatusNotifyEnumDir:           "STATUS_NOTIFY_ENUM_DIR",
	StatusNetworkSessionExpired:   "STATUS_NETWORK_SESSION_EXPIRED",
	StatusUserSessionDeleted:      "STATUS_USER_SESSION_DELETED",
	StatusNetworkNameDeleted:      "STATUS_NETWORK_NAME_DELETED",
	StatusInvalidParameter:        "STATUS_INVALID_PARAMETER",
	StatusNoSuchFile:              "STATUS_NO_SUCH_FILE",
	StatusFileClosed:              "STATUS_FILE_CLOSED",
	StatusInsufficientResources:   "STATUS_INSUFFICIENT_RESOURCES",
	StatusNotSupported:            "STATUS_NOT_SUPPORTED",
	StatusObjectNameCollision:     "STATUS_OBJECT_NAME_COLLISION",
	StatusSharingViolation:        "STATUS_SHARING_VIOLATION",
	StatusAccountDisabled:         "STATUS_ACCOUNT_DISABLED",
	StatusPasswordExpired:         "STATUS_PASSWORD_EXPIRED",
	StatusAccountLockedOut:        "STATUS_ACCOUNT_LOCKED_OUT",
	StatusAccountRestriction:      "STATUS_ACCOUNT_RESTRICTION",
	StatusWrongPassword:           "STATUS_WRONG_PASSWORD",
	StatusNoSuchUser:              "STATUS_NO_SUCH_USER",
	StatusPipeDisconnected:        "STATUS_PIPE_DISCONNECTED",
	StatusPipeBroken:              "STATUS_PIPE_BROKEN",
	StatusObjectPathNotFound:      "STATUS_OBJECT_PATH_NOT_FOUND",
	StatusFileIsADirectory:        "STATUS_FILE_IS_A_DIRECTORY",
	StatusNotADirectory:           "STATUS_NOT_A_DIRECTORY",
	StatusDiskFull:                "STATUS_DISK_FULL",
	StatusIOTimeout:               "STATUS_IO_TIMEOUT",
	StatusInvalidHandle:           "STATUS_INVALID_HANDLE",
	StatusNotImplemented:          "STATUS_NOT_IMPLEMENTED",
	StatusInvalidDeviceRequest:    "STATUS_INVALID_DEVICE_REQUEST",
	StatusRequestNotAccepted:      "STATUS_REQUEST_NOT_ACCEPTED",
	StatusFSDriverRequired:        "STATUS_FS_DRIVER_REQUIRED",
	StatusLockNotGranted:          "STATUS_LOCK_NOT_GRANTED",
	StatusFileLockConflict:        "STATUS_FILE_LOCK_CONFLICT",
	StatusDeletePending:           "STATUS_DELETE_PENDING",
	StatusBadNetworkPath:          "STATUS_BAD_NETWORK_PATH",
	StatusNetworkAccessDenied:     "STATUS_NETWORK_ACCESS_DENIED",
	StatusSMBBadUID:               "STATUS_SMB_BAD_UID",
	StatusSMBBadTID:               "STATUS_SMB_BAD_TID",
	StatusInvalidInfoClass:        "STATUS_INVALID_INFO_CLASS",
	StatusInfoLengthMismatch:      "STATUS_INFO_LENGTH_MISMATCH",
	StatusBufferTooSmall:          "STATUS_BUFFER_TOO_SMALL",
	StatusDirectoryNotEmpty:       "STATUS_DIRECTORY_NOT_EMPTY",
	StatusInvalidNetworkResponse:  "STATUS_INVALID_NETWORK_RESPONSE",
	StatusNoSuchDevice:            "STATUS_NO_SUCH_DEVICE",
	StatusUnexpectedNetworkError:  "STATUS_UNEXPECTED_NETWORK_ERROR",
	StatusTimeDifferenceAtDC:      "STATUS_TIME_DIFFERENCE_AT_DC",
	StatusTrustedRelationshipFail: "STATUS_TRUSTED_RELATIONSHIP_FAILURE",
	StatusNoLogonServers:          "STATUS_NO_LOGON_SERVERS",
	StatusDuplicateName:           "STATUS_DUPLICATE_NAME",
	StatusPathNotCovered:          "STATUS_PATH_NOT_COVERED",
	StatusStoppedOnSymlink:        "STATUS_STOPPED_ON_SYMLINK",
	StatusNoEASOnFile:             "STATUS_NO_EAS_ON_FILE",
	StatusInvalidSMB:              "STATUS_INVALID_SMB",
}

// String returns the [MS-ERREF] name ("STATUS_ACCESS_DENIED"), or
// "Status(0x...)" for codes not in the table.
func (s Status) String() string {
	if s == StatusSuccess { // most responses: no map lookup
		return "STATUS_SUCCESS"
	}
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("Status(0x%08x)", uint32(s))
}

// Severity returns the two top bits of s: 0 success, 1 informational,
// 2 warning, 3 error ([MS-ERREF] 2.3).
func (s Status) Severity() uint8 { return uint8(s >> 30) }

// IsError reports whether s has error severity.
func (s Status) IsError() bool { return s.Severity() == 3 }

// DOSError is an SMB1 DOS error: a class and a code ([MS-CIFS] 2.2.2.4).
type DOSError struct {
	Class uint8
	Code  uint16
}

var dosClassNames = map[uint8]string{0x00: "SUCCESS", 0x01: "ERRDOS", 0x02: "ERRSRV", 0x03: "ERRHRD", 0xff: "ERRCMD"}

var dosCodeNames = map[DOSError]string{
	{1, 1}: "ERRbadfunc", {1, 2}: "ERRbadfile", {1, 3}: "ERRbadpath", {1, 4}: "ERRnofids",
	{1, 5}: "ERRnoaccess", {1, 6}: "ERRbadfid", {1, 8}: "ERRnomem", {1, 18}: "ERRnofiles",
	{1, 32}: "ERRbadshare", {1, 33}: "ERRlock", {1, 80}: "ERRfilexists", {1, 230}: "ERRbadpipe",
	{1, 231}: "ERRpipebusy", {1, 233}: "ERRnotconnected", {1, 234}: "ERRmoredata",
	{2, 1}: "ERRerror", {2, 2}: "ERRbadpw", {2, 4}: "ERRaccess", {2, 5}: "ERRinvtid",
	{2, 6}: "ERRinvnetname", {2, 22}: "ERRbadcmd", {2, 91}: "ERRbaduid", {2, 2239}: "ERRaccountExpired",
}

// String returns "ERRDOS/ERRnoaccess" or the numbers when unknown.
func (e DOSError) String() string {
	cls, ok := dosClassNames[e.Class]
	if !ok {
		cls = fmt.Sprintf("class 0x%02x", e.Class)
	}
	if code, ok := dosCodeNames[e]; ok {
		return cls + "/" + code
	}
	return fmt.Sprintf("%s/%d", cls, e.Code)
}
