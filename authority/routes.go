package authority

import (
	"context"
	"net/http"
	"strconv"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
)

// The signed routes' endpoints: parse the route's body, query and path
// (400, or 404 for a malformed {id}), call the Service, and shape its
// result for the wire.

func (h *Handler) enroll(ctx context.Context, r *http.Request, req *api.Request) (int, any, error) {
	var in api.EnrollRequestV1
	if err := firstError(noQuery(r), api.DecodeJSON(req.Body, &in)); err != nil {
		return 0, nil, err
	}
	to, sealed, err := parseEnroll(&in)
	if err != nil {
		return 0, nil, err
	}
	o, rc, err := h.svc.Enroll(ctx, req, to, sealed)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, api.EnrollResponseV1{Owner: ownerV1(o), Receipt: h.receiptV1(ctx, req, rc)}, nil
}

func parseEnroll(in *api.EnrollRequestV1) (*keyblob.Recipient, []byte, error) {
	line, err := api.Required("recipient", in.Recipient)
	if err != nil {
		return nil, nil, err
	}
	sealed, err := sealedCode(in.SealedCode)
	if err != nil {
		return nil, nil, err
	}
	to, err := api.ParseRecipient("recipient", line)
	return to, sealed, err
}

func sealedCode(p *string) ([]byte, error) {
	s, err := api.Required("sealed_code", p)
	if err != nil {
		return nil, err
	}
	return api.DecodeBytes("sealed_code", s, api.MaxBody)
}

func (h *Handler) deposit(ctx context.Context, r *http.Request, req *api.Request) (int, any, error) {
	var in api.DepositRequestV1
	if err := firstError(noQuery(r), api.DecodeJSON(req.Body, &in)); err != nil {
		return 0, nil, err
	}
	s, err := api.Required("blob", in.Blob)
	if err != nil {
		return 0, nil, err
	}
	raw, err := api.DecodeBytes("blob", s, api.MaxBlob)
	if err != nil {
		return 0, nil, err
	}
	blob, err := keyblob.ParseKeyBlob(raw)
	if err != nil {
		return 0, nil, err
	}
	res, err := h.svc.Deposit(ctx, req, blob)
	if err != nil {
		return 0, nil, err
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	out := api.DepositResponseV1{Deposit: depositV1(res.Deposit), Receipt: h.receiptV1(ctx, req, res.Receipt)}
	if !res.ThrottledUntil.IsZero() {
		t := api.FormatTime(res.ThrottledUntil)
		out.ThrottledUntil = &t
	}
	return status, out, nil
}

func (h *Handler) deposits(ctx context.Context, r *http.Request, req *api.Request) (int, any, error) {
	after, limit, err := page(r)
	if err != nil {
		return 0, nil, err
	}
	ds, err := h.svc.Deposits(ctx, req, after, limit)
	if err != nil {
		return 0, nil, err
	}
	out := api.DepositListV1{Deposits: make([]api.DepositV1, 0, len(ds))}
	for _, d := range ds {
		out.Deposits = append(out.Deposits, depositV1(d))
	}
	if len(ds) > 0 {
		out.Next = next(len(ds), limit, ds[len(ds)-1].Seq)
	}
	return http.StatusOK, out, nil
}

func (h *Handler) audit(ctx context.Context, r *http.Request, req *api.Request) (int, any, error) {
	after, limit, err := page(r)
	if err != nil {
		return 0, nil, err
	}
	page, err := h.svc.Audit(ctx, req, after, limit)
	if err != nil {
		return 0, nil, err
	}
	es := page.Entries
	out := api.AuditListV1{Entries: make([]api.AuditEntryV1, 0, len(es)), Checkpoint: string(page.Checkpoint),
		Inclusion: make([][]string, 0, len(es)), Owner: page.Claim.Owner.String(), Through: page.Claim.Through,
		Signature: api.EncodeBytes(page.Signature)}
	for i, e := range es {
		out.Entries = append(out.Entries, e.V1())
		out.Inclusion = append(out.Inclusion, api.EncodeProof(page.Inclusion[i]))
	}
	if page.More {
		n := strconv.FormatUint(page.Claim.Through, 10)
		out.Next = &n
	}
	return http.StatusOK, out, nil
}

func (h *Handler) createRecovery(ctx context.Context, r *http.Request, req *api.Request) (int, any, error) {
	var in api.RecoveryRequestV1
	if err := firstError(noQuery(r), api.DecodeJSON(req.Body, &in)); err != nil {
		return 0, nil, err
	}
	ri, err := parseRecoveryRequest(&in)
	if err != nil {
		return 0, nil, err
	}
	st, rc, err := h.svc.RequestRecovery(ctx, req, ri)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, api.RecoveryResponseV1{Recovery: recoveryV1(st), Receipt: h.receiptV1(ctx, req, rc)}, nil
}

func parseRecoveryRequest(in *api.RecoveryRequestV1) (RecoveryInput, error) {
	var ri RecoveryInput
	owner, err := api.Required("owner", in.Owner)
	if err != nil {
		return ri, err
	}
	to, err := api.Required("to", in.To)
	if err != nil {
		return ri, err
	}
	if ri.SealedCode, err = sealedCode(in.SealedCode); err != nil {
		return ri, err
	}
	if ri.Owner, err = api.ParseFingerprint("owner", owner); err != nil {
		return ri, err
	}
	if in.Serial != nil {
		s, err := api.ParseID("serial", *in.Serial)
		if err != nil {
			return ri, err
		}
		serial := keyblob.Serial(s)
		ri.Serial = &serial
	}
	ri.To, err = api.ParseRecipient("to", to)
	return ri, err
}

func (h *Handler) recovery(ctx context.Context, r *http.Request, req *api.Request) (int, any, error) {
	id, err := pathID(r)
	if err == nil {
		err = noQuery(r)
	}
	if err != nil {
		return 0, nil, err
	}
	st, err := h.svc.Recovery(ctx, req, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, api.RecoveryViewV1{Recovery: recoveryV1(st)}, nil
}

func (h *Handler) complete(ctx context.Context, r *http.Request, req *api.Request) (int, any, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, nil, err
	}
	var in api.CompleteRequestV1
	if err := firstError(noQuery(r), api.DecodeJSON(req.Body, &in)); err != nil {
		return 0, nil, err
	}
	sealed, err := sealedCode(in.SealedCode)
	if err != nil {
		return 0, nil, err
	}
	st, o, rc, err := h.svc.CompleteRecovery(ctx, req, id, sealed)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, api.CompleteResponseV1{Recovery: recoveryV1(st), Owner: ownerV1(o), Receipt: h.receiptV1(ctx, req, rc)}, nil
}

func (h *Handler) approve(ctx context.Context, r *http.Request, req *api.Request) (int, any, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, nil, err
	}
	var in api.ApprovalRequestV1
	if err := firstError(noQuery(r), api.DecodeJSON(req.Body, &in)); err != nil {
		return 0, nil, err
	}
	st, rc, err := h.svc.Approve(ctx, req, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, api.RecoveryResponseV1{Recovery: recoveryV1(st), Receipt: h.receiptV1(ctx, req, rc)}, nil
}

func (h *Handler) cancel(ctx context.Context, r *http.Request, req *api.Request) (int, any, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, nil, err
	}
	var in api.CancelRequestV1
	if err := firstError(noQuery(r), api.DecodeJSON(req.Body, &in)); err != nil {
		return 0, nil, err
	}
	st, rc, err := h.svc.CancelRecovery(ctx, req, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, api.RecoveryResponseV1{Recovery: recoveryV1(st), Receipt: h.receiptV1(ctx, req, rc)}, nil
}

func (h *Handler) keys(ctx context.Context, r *http.Request, req *api.Request) (int, any, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, nil, err
	}
	after, limit, err := page(r)
	if err != nil {
		return 0, nil, err
	}
	ks, err := h.svc.RecoveredKeys(ctx, req, id, after, limit)
	if err != nil {
		return 0, nil, err
	}
	out := api.KeyListV1{Keys: make([]api.KeyV1, 0, len(ks))}
	for _, k := range ks {
		out.Keys = append(out.Keys, keyV1(k))
	}
	if len(ks) > 0 {
		out.Next = next(len(ks), limit, ks[len(ks)-1].Seq)
	}
	return http.StatusOK, out, nil
}
