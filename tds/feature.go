package tds

// FeatureID identifies a LOGIN7 feature extension or FEATUREEXTACK entry
// ([MS-TDS] 2.2.6.4, FeatureExt).
type FeatureID uint8

// Feature extensions.
const (
	FeatureSessionRecovery    FeatureID = 0x01
	FeatureFedAuth            FeatureID = 0x02
	FeatureColumnEncryption   FeatureID = 0x04
	FeatureGlobalTransactions FeatureID = 0x05
	FeatureAzureSQLSupport    FeatureID = 0x08
	FeatureDataClassification FeatureID = 0x09
	FeatureUTF8Support        FeatureID = 0x0A
	FeatureAzureSQLDNSCaching FeatureID = 0x0B
	FeatureTerminator         FeatureID = 0xFF
)

var featureNames = map[FeatureID]string{
	FeatureSessionRecovery: "SESSIONRECOVERY", FeatureFedAuth: "FEDAUTH", FeatureColumnEncryption: "COLUMNENCRYPTION",
	FeatureGlobalTransactions: "GLOBALTRANSACTIONS", FeatureAzureSQLSupport: "AZURESQLSUPPORT",
	FeatureDataClassification: "DATACLASSIFICATION", FeatureUTF8Support: "UTF8_SUPPORT",
	FeatureAzureSQLDNSCaching: "AZURESQLDNSCACHING",
}

// String returns the spec's name or FeatureID(0xNN).
func (f FeatureID) String() string {
	return enumName(featureNames, "FeatureID", f)
}

// Feature is one feature extension: its id and data length (the data itself
// can hold tokens, so only its size is kept).
type Feature struct {
	ID     FeatureID
	Length int
}

// featureList returns the names of fs, in order.
func featureList(fs []Feature) []string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.ID.String()
	}
	return names
}
