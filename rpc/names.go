package rpc

import "fmt"

// Well-known interface and transfer-syntax UUIDs.
var (
	// EPMInterface is the endpoint mapper, epmapper v3 (C706 Appendix O,
	// [MS-RPCE] 2.2.1.2).
	EPMInterface = MustParseUUID("e1af8308-5d1f-11c9-91a4-08002b14a0fa")
	// MgmtInterface is the remote management interface (C706 Appendix Q).
	MgmtInterface = MustParseUUID("afa8bd80-7d8a-11c9-bef4-08002b102989")
	// NDRSyntax is the NDR 2.0 transfer syntax (C706 14).
	NDRSyntax = MustParseUUID("8a885d04-1ceb-11c9-9fe8-08002b104860")
	// NDR64Syntax is the NDR64 transfer syntax ([MS-RPCE] 2.2.5).
	NDR64Syntax = MustParseUUID("71710533-beba-4937-8319-b5dbef9ccc36")
)

// bindTimeFeaturePrefix is the first 8 bytes of the bind time feature
// negotiation pseudo transfer syntax 6cb71c2c-9812-4540-XXXX-000000000000
// ([MS-RPCE] 3.3.1.5.3); bytes 8-9 carry the bitmask.
var bindTimeFeaturePrefix = [8]byte{0x6c, 0xb7, 0x1c, 0x2c, 0x98, 0x12, 0x45, 0x40}

// IsBindTimeFeature reports whether u is a bind time feature negotiation
// syntax, and returns its bitmask (1: security context multiplexing,
// 2: keep connection on orphan).
func IsBindTimeFeature(u UUID) (bitmask uint16, ok bool) {
	if [8]byte(u[:8]) != bindTimeFeaturePrefix {
		return 0, false
	}
	return uint16(u[8]) | uint16(u[9])<<8, true
}

type ifaceInfo struct {
	name    string
	opnames map[uint16]string
}

// pnioOps are the PROFINET IO context manager's operations.
var pnioOps = map[uint16]string{0: "Connect", 1: "Release", 2: "Read", 3: "Write", 4: "Control", 5: "ReadImplicit"}

// interfaces maps well-known interface UUIDs to short names and the names
// of their common operations. Sources: [MS-RPCE], [MS-SRVS], [MS-SAMR],
// [MS-LSAD]/[MS-LSAT], [MS-NRPC], [MS-RRP], [MS-SCMR], [MS-RPRN],
// [MS-DRSR], [MS-WKST], [MS-OXCRPC], [MS-DCOM], [MS-WMI] and others.
var interfaces = map[UUID]ifaceInfo{
	EPMInterface: {"EPM", map[uint16]string{0: "ept_insert", 1: "ept_delete", 2: "ept_lookup", 3: "ept_map",
		4: "ept_lookup_handle_free", 5: "ept_inq_object", 6: "ept_mgmt_delete"}},
	MgmtInterface: {"MGMT", map[uint16]string{0: "inq_if_ids", 1: "inq_stats", 2: "is_server_listening",
		3: "stop_server_listening", 4: "inq_princ_name"}},
	MustParseUUID("a4f1db00-ca47-1067-b31f-00dd010662da"): {"EMSMDB", map[uint16]string{0: "EcDoConnect",
		1: "EcDoDisconnect", 2: "EcDoRpc", 3: "EcGetMoreRpc", 4: "EcRRegisterPushNotification",
		5: "EcRUnregisterPushNotification", 6: "EcDummyRpc", 7: "EcRGetDCName", 8: "EcRNetGetDCName",
		9: "EcDoRpcExt", 10: "EcDoConnectEx", 11: "EcDoRpcExt2", 14: "EcDoAsyncConnectEx"}},
	MustParseUUID("5261574a-4572-206e-b268-6b199213b4e4"): {"AsyncEMSMDB", map[uint16]string{0: "EcDoAsyncWaitEx"}},
	MustParseUUID("f5cc5a18-4264-101a-8c59-08002b2f8426"): {"NSPI", map[uint16]string{0: "NspiBind", 1: "NspiUnbind"}},
	MustParseUUID("1544f5e0-613c-11d1-93df-00c04fd7bd09"): {"RFR", map[uint16]string{0: "RfrGetNewDSA", 1: "RfrGetFQDNFromServerDN"}},
	MustParseUUID("e3514235-4b06-11d1-ab04-00c04fc2dcd2"): {"DRSUAPI", map[uint16]string{0: "DRSBind", 1: "DRSUnbind",
		2: "DRSReplicaSync", 3: "DRSGetNCChanges", 4: "DRSUpdateRefs", 12: "DRSCrackNames",
		16: "DRSDomainControllerInfo", 17: "DRSAddEntry"}},
	MustParseUUID("12345678-1234-abcd-ef00-01234567cffb"): {"NETLOGON", map[uint16]string{2: "NetrLogonSamLogon",
		3: "NetrLogonSamLogoff", 4: "NetrServerReqChallenge", 15: "NetrServerAuthenticate2",
		21: "NetrLogonGetCapabilities", 26: "NetrServerAuthenticate3", 29: "NetrLogonGetDomainInfo",
		30: "NetrServerPasswordSet2", 34: "DsrGetDcNameEx2", 39: "NetrLogonSamLogonEx", 40: "DsrEnumerateDomainTrusts"}},
	MustParseUUID("12345778-1234-abcd-ef00-0123456789ac"): {"SAMR", map[uint16]string{0: "SamrConnect",
		1: "SamrCloseHandle", 3: "SamrQuerySecurityObject", 5: "SamrLookupDomainInSamServer",
		6: "SamrEnumerateDomainsInSamServer", 7: "SamrOpenDomain", 8: "SamrQueryInformationDomain",
		13: "SamrEnumerateUsersInDomain", 17: "SamrLookupNamesInDomain", 18: "SamrLookupIdsInDomain",
		34: "SamrOpenUser", 36: "SamrQueryInformationUser", 39: "SamrGetGroupsForUser",
		57: "SamrConnect2", 62: "SamrConnect4", 64: "SamrConnect5"}},
	MustParseUUID("12345778-1234-abcd-ef00-0123456789ab"): {"LSARPC", map[uint16]string{0: "LsarClose",
		6: "LsarOpenPolicy", 7: "LsarQueryInformationPolicy", 14: "LsarLookupNames", 15: "LsarLookupSids",
		44: "LsarOpenPolicy2", 45: "LsarGetUserName", 46: "LsarQueryInformationPolicy2",
		57: "LsarLookupSids2", 58: "LsarLookupNames2", 76: "LsarLookupSids3", 77: "LsarLookupNames4"}},
	MustParseUUID("4b324fc8-1670-01d3-1278-5a47bf6ee188"): {"SRVSVC", map[uint16]string{9: "NetrFileEnum",
		12: "NetrSessionEnum", 13: "NetrSessionDel", 15: "NetrShareEnum", 16: "NetrShareGetInfo",
		21: "NetrServerGetInfo", 28: "NetrRemoteTOD", 31: "NetrPathCanonicalize", 36: "NetrShareEnumSticky"}},
	MustParseUUID("6bffd098-a112-3610-9833-46c3f87e345a"): {"WKSSVC", map[uint16]string{0: "NetrWkstaGetInfo",
		2: "NetrWkstaUserEnum", 22: "NetrJoinDomain2", 23: "NetrUnjoinDomain2"}},
	MustParseUUID("338cd001-2244-31f1-aaaa-900038001003"): {"WINREG", map[uint16]string{0: "OpenClassesRoot",
		1: "OpenCurrentUser", 2: "OpenLocalMachine", 3: "OpenPerformanceData", 4: "OpenUsers",
		5: "BaseRegCloseKey", 6: "BaseRegCreateKey", 7: "BaseRegDeleteKey", 8: "BaseRegDeleteValue",
		9: "BaseRegEnumKey", 10: "BaseRegEnumValue", 11: "BaseRegFlushKey", 12: "BaseRegGetKeySecurity",
		15: "BaseRegOpenKey", 16: "BaseRegQueryInfoKey", 17: "BaseRegQueryValue", 20: "BaseRegSaveKey",
		22: "BaseRegSetValue", 26: "BaseRegGetVersion"}},
	MustParseUUID("367abb81-9844-35f1-ad32-98f038001003"): {"SVCCTL", map[uint16]string{0: "RCloseServiceHandle",
		1: "RControlService", 2: "RDeleteService", 6: "RQueryServiceStatus", 12: "RCreateServiceW",
		14: "REnumServicesStatusW", 15: "ROpenSCManagerW", 16: "ROpenServiceW", 17: "RQueryServiceConfigW",
		19: "RStartServiceW"}},
	MustParseUUID("12345678-1234-abcd-ef00-0123456789ab"): {"SPOOLSS", map[uint16]string{0: "RpcEnumPrinters",
		1: "RpcOpenPrinter", 29: "RpcClosePrinter", 65: "RpcRemoteFindFirstPrinterChangeNotificationEx",
		69: "RpcOpenPrinterEx", 89: "RpcAddPrinterDriverEx"}},
	MustParseUUID("76f03f96-cdfd-44fc-a22c-64950a001209"): {"IRemoteWinspool", nil},
	MustParseUUID("86d35949-83c9-4044-b424-db363231fd0c"): {"ITaskSchedulerService", nil},
	MustParseUUID("1ff70682-0a51-30e8-076d-740be8cee98b"): {"ATSVC", map[uint16]string{0: "NetrJobAdd", 1: "NetrJobDel", 2: "NetrJobEnum"}},
	MustParseUUID("378e52b0-c0a9-11cf-822d-00aa0051e40f"): {"SASEC", nil},
	MustParseUUID("3919286a-b10c-11d0-9ba8-00c04fd92ef5"): {"DSSETUP", map[uint16]string{0: "DsRoleGetPrimaryDomainInformation"}},
	MustParseUUID("4fc742e0-4a10-11cf-8273-00aa004ae673"): {"NETDFS", nil},
	MustParseUUID("82273fdc-e32a-18c3-3f78-827929dc23ea"): {"EVENTLOG", nil},
	MustParseUUID("f6beaff7-1e19-4fbb-9f8f-b89e2018337c"): {"EVEN6", nil},
	MustParseUUID("8d9f4e40-a03d-11ce-8f69-08003e30051b"): {"PNP", nil},
	MustParseUUID("a8e0653c-2744-4389-a61d-7373df8b2292"): {"FSRVP", nil},
	MustParseUUID("885d85fb-c754-4062-a0e7-6872ce0064f4"): {"MDSSVC", nil},
	MustParseUUID("50abc2a4-574d-40b3-9d66-ee4fd5fba076"): {"DNSSERVER", nil},
	MustParseUUID("894de0c0-0d55-11d3-a322-00c04fa321a1"): {"InitShutdown", nil},
	MustParseUUID("d95afe70-a6d5-4259-822e-2c84da1ddb0d"): {"WindowsShutdown", nil},
	MustParseUUID("6b5bdd1e-528c-422c-af8c-a4079be4fe48"): {"RemoteFW", nil},
	MustParseUUID("c681d488-d850-11d0-8c52-00c04fd90f7e"): {"EFSRPC", nil},
	MustParseUUID("df1941c5-fe89-4e79-bf10-463657acf44d"): {"EFSRPC", nil},
	MustParseUUID("6bffd098-a112-3610-9833-012892020162"): {"BROWSER", nil},
	MustParseUUID("3dde7c30-165d-11d1-ab8f-00805f14db40"): {"BackupKey", nil},
	MustParseUUID("7c44d7d4-31d5-424c-bd5e-2b3e1f323d22"): {"DSAOP", nil},
	MustParseUUID("91ae6020-9e3c-11cf-8d7c-00aa00c091be"): {"ICertPassage", nil},
	MustParseUUID("d99e6e70-fc88-11d0-b498-00a0c90312f3"): {"ICertRequestD", nil},
	MustParseUUID("12b81e99-f207-4a4c-85d3-77b42f76fd14"): {"SECLOGON", nil},
	// DCOM ([MS-DCOM] 1.9).
	MustParseUUID("000001a0-0000-0000-c000-000000000046"): {"IRemoteSCMActivator", map[uint16]string{
		3: "RemoteGetClassObject", 4: "RemoteCreateInstance"}},
	MustParseUUID("4d9f4ab8-7d1c-11cf-861e-0020af6e7c57"): {"IActivation", map[uint16]string{0: "RemoteActivation"}},
	MustParseUUID("99fcfec4-5260-101b-bbcb-00aa0021347a"): {"IObjectExporter", map[uint16]string{0: "ResolveOxid",
		1: "SimplePing", 2: "ComplexPing", 3: "ServerAlive", 4: "ResolveOxid2", 5: "ServerAlive2"}},
	MustParseUUID("00000131-0000-0000-c000-000000000046"): {"IRemUnknown", map[uint16]string{3: "RemQueryInterface", 4: "RemAddRef", 5: "RemRelease"}},
	MustParseUUID("00000143-0000-0000-c000-000000000046"): {"IRemUnknown2", map[uint16]string{3: "RemQueryInterface",
		4: "RemAddRef", 5: "RemRelease", 6: "RemQueryInterface2"}},
	MustParseUUID("00000000-0000-0000-c000-000000000046"): {"IUnknown", nil},
	MustParseUUID("f309ad18-d86a-11d0-a075-00c04fb68820"): {"IWbemLevel1Login", nil},
	// PROFINET IO context manager, over connectionless DCE/RPC (IEC 61158-6-10).
	MustParseUUID("dea00001-6c97-11d1-8271-00a02442df7d"): {"PNIO-Device", pnioOps},
	MustParseUUID("dea00002-6c97-11d1-8271-00a02442df7d"): {"PNIO-Controller", pnioOps},
	MustParseUUID("dea00003-6c97-11d1-8271-00a02442df7d"): {"PNIO-Supervisor", pnioOps},
	MustParseUUID("dea00004-6c97-11d1-8271-00a02442df7d"): {"PNIO-ParameterServer", pnioOps},
	MustParseUUID("9556dc99-828c-11cf-a37e-00aa003240c7"): {"IWbemServices", nil},
}

// InterfaceName returns the short name of a well-known interface ("EPM",
// "SAMR", "DRSUAPI", …) or "" when u is not in the table.
func InterfaceName(u UUID) string { return interfaces[u].name }

// OpName returns the name of operation opnum of interface u, or "" when
// unknown.
func OpName(u UUID, opnum uint16) string { return interfaces[u].opnames[opnum] }

// SyntaxName names a transfer syntax: "NDR", "NDR64", "bind_time_feature"
// or "" when unknown.
func SyntaxName(u UUID) string {
	switch u {
	case NDRSyntax:
		return "NDR"
	case NDR64Syntax:
		return "NDR64"
	}
	if _, ok := IsBindTimeFeature(u); ok {
		return "bind_time_feature"
	}
	return ""
}

// Status is a DCE/RPC or Windows status code (fault status, EPM return code).
type Status uint32

// Status values named in events (C706 Appendix E, [MS-RPCE] 3.1.1.5.5,
// [MS-ERREF] 2.2).
const (
	StatusOK              Status = 0
	StatusNotRegistered   Status = 0x16c9a0d6 // ept_s_not_registered
	StatusOpRangeError    Status = 0x1c010002 // nca_s_op_rng_error
	StatusUnknownIf       Status = 0x1c010003 // nca_s_unk_if
	StatusProtoError      Status = 0x1c01000b // nca_s_proto_error
	StatusAccessDenied    Status = 0x00000005 // ERROR_ACCESS_DENIED
	StatusSecPkgError     Status = 0x00000721 // RPC_S_SEC_PKG_ERROR
	StatusProcNumOutRange Status = 0x000006d1 // RPC_S_PROCNUM_OUT_OF_RANGE
)

var statusNames = map[Status]string{
	0x00000000: "success",
	0x00000005: "access_denied",
	0x00000057: "invalid_parameter",
	0x000006a6: "rpc_s_invalid_binding",
	0x000006ba: "rpc_s_server_unavailable",
	0x000006be: "rpc_s_call_failed",
	0x000006bf: "rpc_s_call_failed_dne",
	0x000006c0: "rpc_s_protocol_error",
	0x000006d1: "rpc_s_procnum_out_of_range",
	0x000006d8: "ept_s_cant_perform_op",
	0x000006d9: "ept_s_not_registered",
	0x000006f7: "rpc_x_bad_stub_data",
	0x00000721: "nca_s_fault_sec_pkg_error",
	0x16c9a0d6: "ept_s_not_registered",
	0x16c9a0d8: "ept_s_cant_perform_op",
	0x16c9a0dd: "ept_s_invalid_entry",
	0x1c000001: "nca_s_fault_int_div_by_zero",
	0x1c000002: "nca_s_fault_addr_error",
	0x1c000003: "nca_s_fault_fp_div_zero",
	0x1c000004: "nca_s_fault_fp_underflow",
	0x1c000005: "nca_s_fault_fp_overflow",
	0x1c000006: "nca_s_fault_invalid_tag",
	0x1c000007: "nca_s_fault_invalid_bound",
	0x1c000008: "nca_s_rpc_version_mismatch",
	0x1c000009: "nca_s_unspec_reject",
	0x1c00000a: "nca_s_bad_actid",
	0x1c00000b: "nca_s_who_are_you_failed",
	0x1c00000c: "nca_s_manager_not_entered",
	0x1c00000d: "nca_s_fault_cancel",
	0x1c00000e: "nca_s_fault_ill_inst",
	0x1c00000f: "nca_s_fault_fp_error",
	0x1c000010: "nca_s_fault_int_overflow",
	0x1c000012: "nca_s_fault_unspec",
	0x1c000013: "nca_s_fault_remote_comm_failure",
	0x1c000014: "nca_s_fault_pipe_empty",
	0x1c000015: "nca_s_fault_pipe_closed",
	0x1c000016: "nca_s_fault_pipe_order",
	0x1c000017: "nca_s_fault_pipe_discipline",
	0x1c000018: "nca_s_fault_pipe_comm_error",
	0x1c000019: "nca_s_fault_pipe_memory",
	0x1c00001a: "nca_s_fault_context_mismatch",
	0x1c00001b: "nca_s_fault_remote_no_memory",
	0x1c00001c: "nca_s_invalid_pres_context_id",
	0x1c00001d: "nca_s_unsupported_authn_level",
	0x1c00001f: "nca_s_invalid_checksum",
	0x1c000020: "nca_s_invalid_crc",
	0x1c000021: "nca_s_fault_user_defined",
	0x1c000022: "nca_s_fault_tx_open_failed",
	0x1c000023: "nca_s_fault_codeset_conv_error",
	0x1c000024: "nca_s_fault_object_not_found",
	0x1c000025: "nca_s_fault_no_client_stub",
	0x1c010001: "nca_s_comm_failure",
	0x1c010002: "nca_s_op_rng_error",
	0x1c010003: "nca_s_unk_if",
	0x1c010006: "nca_s_wrong_boot_time",
	0x1c010009: "nca_s_you_crashed",
	0x1c01000b: "nca_s_proto_error",
	0x1c010013: "nca_s_out_args_too_big",
	0x1c010014: "nca_s_server_too_busy",
	0x1c010017: "nca_s_unsupported_type",
	0xc0000022: "STATUS_ACCESS_DENIED",
}

// String returns the status name ("nca_s_op_rng_error") or its hex value.
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("0x%08x", uint32(s))
}

// Hex returns the status as 0x%08x, as tshark prints it.
func (s Status) Hex() string { return fmt.Sprintf("0x%08x", uint32(s)) }

// AuthType is the sec_trailer auth_type ([MS-RPCE] 2.2.1.1.7).
type AuthType uint8

// Authentication services.
const (
	AuthNone     AuthType = 0
	AuthSPNEGO   AuthType = 9    // RPC_C_AUTHN_GSS_NEGOTIATE
	AuthNTLMSSP  AuthType = 10   // RPC_C_AUTHN_WINNT
	AuthSchannel AuthType = 14   // RPC_C_AUTHN_GSS_SCHANNEL
	AuthKerberos AuthType = 16   // RPC_C_AUTHN_GSS_KERBEROS
	AuthNetlogon AuthType = 0x44 // RPC_C_AUTHN_NETLOGON (secure channel)
	AuthDefault  AuthType = 0xff // RPC_C_AUTHN_DEFAULT
)

// String returns the service name or AuthType(n).
func (a AuthType) String() string {
	switch a {
	case AuthNone:
		return "none"
	case 1:
		return "dce_private"
	case 2:
		return "dce_public"
	case 4:
		return "digest"
	case AuthSPNEGO:
		return "spnego"
	case AuthNTLMSSP:
		return "ntlmssp"
	case AuthSchannel:
		return "schannel"
	case AuthKerberos:
		return "kerberos"
	case AuthNetlogon:
		return "netlogon"
	case AuthDefault:
		return "default"
	}
	return fmt.Sprintf("AuthType(%d)", uint8(a))
}

// AuthLevel is the sec_trailer auth_level ([MS-RPCE] 2.2.1.1.8).
type AuthLevel uint8

var authLevelNames = [...]string{"default", "none", "connect", "call", "packet", "integrity", "privacy"}

// String returns the level name ("integrity") or AuthLevel(n).
func (l AuthLevel) String() string {
	if int(l) < len(authLevelNames) {
		return authLevelNames[l]
	}
	return fmt.Sprintf("AuthLevel(%d)", uint8(l))
}

// RejectReason is a bind_nak provider_reject_reason (C706 12.6.3.1,
// [MS-RPCE] 2.2.2.5).
type RejectReason uint16

var rejectReasonNames = [...]string{
	"reason_not_specified", "temporary_congestion", "local_limit_exceeded", "called_paddr_unknown",
	"protocol_version_not_supported", "default_context_not_supported", "user_data_not_readable",
	"no_psap_available", "authentication_type_not_recognized", "invalid_checksum",
}

// String returns the reason name or RejectReason(n).
func (r RejectReason) String() string {
	if int(r) < len(rejectReasonNames) {
		return rejectReasonNames[r]
	}
	return fmt.Sprintf("RejectReason(%d)", uint16(r))
}

// Result is a presentation context result in bind_ack (C706 12.6.3.1,
// [MS-RPCE] 2.2.2.4 adds negotiate_ack).
type Result uint16

// Context results.
const (
	Acceptance        Result = 0
	UserRejection     Result = 1
	ProviderRejection Result = 2
	NegotiateAck      Result = 3
)

var resultNames = [...]string{"acceptance", "user_rejection", "provider_rejection", "negotiate_ack"}

// String returns the result name or Result(n).
func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return fmt.Sprintf("Result(%d)", uint16(r))
}

var ackReasonNames = [...]string{"reason_not_specified", "abstract_syntax_not_supported",
	"proposed_transfer_syntaxes_not_supported", "local_limit_exceeded"}

// AckReasonName names a bind_ack provider reason for a rejected context.
func AckReasonName(r uint16) string {
	if int(r) < len(ackReasonNames) {
		return ackReasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", r)
}
