package authority

import (
	"crypto/sha256"

	"github.com/keyblob/keyblob/authority/api"
)

// Wire forms of the records.

func ownerV1(o Owner) api.OwnerV1 {
	return api.OwnerV1{ID: o.ID.String(), Recipient: o.Recipient, Signer: o.Signer.String(), Created: api.FormatTime(o.Created)}
}

func depositV1(d Deposit) api.DepositV1 {
	h := sha256.Sum256(d.Blob)
	return api.DepositV1{Seq: d.Seq, Owner: d.Owner.String(), Serial: d.Serial.String(), Description: d.Description,
		Signer: d.Signer.String(), Created: api.FormatTime(d.Created), Deposited: api.FormatTime(d.Deposited), BlobSHA256: api.EncodeBytes(h[:])}
}

func recoveryV1(st RecoveryStatus) api.RecoveryV1 {
	r := api.RecoveryV1{ID: st.ID.String(), Owner: st.Owner.String(), OldSigner: st.OldSigner.String(), To: st.To,
		ToSigner: st.ToSigner.String(), State: st.State, Created: api.FormatTime(st.Created),
		Completable: api.FormatTime(st.Completable), Expires: api.FormatTime(st.Expires),
		ApprovalsRequired: st.ApprovalsRequired, Approvals: []api.ApprovalV1{}}
	if st.Serial != nil {
		s := st.Serial.String()
		r.Serial = &s
	}
	if !st.Completed.IsZero() {
		c := api.FormatTime(st.Completed)
		r.Completed = &c
	}
	for _, a := range st.Approvals {
		r.Approvals = append(r.Approvals, api.ApprovalV1{Operator: a.Operator.String(), Time: api.FormatTime(a.Time)})
	}
	return r
}

func keyV1(k api.RecoveredKey) api.KeyV1 {
	return api.KeyV1{Seq: k.Seq, Serial: k.Serial.String(), Description: k.Description, Created: api.FormatTime(k.Created),
		Deposited: api.FormatTime(k.Deposited), Blob: api.EncodeBytes(k.Blob.Marshal())}
}
