package authority

import (
	"context"
	"net/http"

	"github.com/keyblob/keyblob"
)

// The signed routes' endpoints: parse the route's body, query and path
// (400, or 404 for a malformed {id}), call the Service, and shape its
// result for the wire.

func (h *Handler) enroll(ctx context.Context, r *http.Request, req *Request) (int, any, error) {
	var in EnrollRequestV1
	if err := firstError(noQuery(r), DecodeJSON(req.Body, &in)); err != nil {
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
	return http.StatusCreated, EnrollResponseV1{Owner: ownerV1(o), Receipt: receiptV1(rc)}, nil
}

func parseEnroll(in *EnrollRequestV1) (*keyblob.Recipient, []byte, error) {
	line, err := required("recipient", in.Recipient)
	if err != nil {
		return nil, nil, err
	}
	sealed, err := sealedCode(in.SealedCode)
	if err != nil {
		return nil, nil, err
	}
	to, err := parseRecipient("recipient", line)
	return to, sealed, err
}

func sealedCode(p *string) ([]byte, error) {
	s, err := required("sealed_code", p)
	if err != nil {
		return nil, err
	}
	return decodeB64("sealed_code", s, MaxBody)
}

func (h *Handler) deposit(ctx context.Context, r *http.Request, req *Request) (int, any, error) {
	var in DepositRequestV1
	if err := firstError(noQuery(r), DecodeJSON(req.Body, &in)); err != nil {
		return 0, nil, err
	}
	s, err := required("blob", in.Blob)
	if err != nil {
		return 0, nil, err
	}
	raw, err := decodeB64("blob", s, MaxBlob)
	if err != nil {
		return 0, nil, err
	}
	blob, err := keyblob.ParseKeyBlob(raw)
	if err != nil {
		return 0, nil, err
	}
	d, rc, created, err := h.svc.Deposit(ctx, req, blob)
	if err != nil {
		return 0, nil, err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return status, DepositResponseV1{Deposit: depositV1(d), Receipt: receiptV1(rc)}, nil
}

func (h *Handler) deposits(ctx context.Context, r *http.Request, req *Request) (int, any, error) {
	after, limit, err := page(r)
	if err != nil {
		return 0, nil, err
	}
	ds, err := h.svc.Deposits(ctx, req, after, limit)
	if err != nil {
		return 0, nil, err
	}
	out := DepositListV1{Deposits: make([]DepositV1, 0, len(ds))}
	for _, d := range ds {
		out.Deposits = append(out.Deposits, depositV1(d))
	}
	if len(ds) > 0 {
		out.Next = next(len(ds), limit, ds[len(ds)-1].Seq)
	}
	return http.StatusOK, out, nil
}

func (h *Handler) audit(ctx context.Context, r *http.Request, req *Request) (int, any, error) {
	after, limit, err := page(r)
	if err != nil {
		return 0, nil, err
	}
	es, err := h.svc.Audit(ctx, req, after, limit)
	if err != nil {
		return 0, nil, err
	}
	out := AuditListV1{Entries: make([]AuditEntryV1, 0, len(es))}
	for _, e := range es {
		out.Entries = append(out.Entries, entryV1(e))
	}
	if len(es) > 0 {
		out.Next = next(len(es), limit, es[len(es)-1].Seq)
	}
	return http.StatusOK, out, nil
}

func (h *Handler) createRecovery(ctx context.Context, r *http.Request, req *Request) (int, any, error) {
	var in RecoveryRequestV1
	if err := firstError(noQuery(r), DecodeJSON(req.Body, &in)); err != nil {
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
	return http.StatusCreated, RecoveryResponseV1{Recovery: recoveryV1(st), Receipt: receiptV1(rc)}, nil
}

func parseRecoveryRequest(in *RecoveryRequestV1) (RecoveryInput, error) {
	var ri RecoveryInput
	owner, err := required("owner", in.Owner)
	if err != nil {
		return ri, err
	}
	to, err := required("to", in.To)
	if err != nil {
		return ri, err
	}
	if ri.SealedCode, err = sealedCode(in.SealedCode); err != nil {
		return ri, err
	}
	if ri.Owner, err = parseFingerprint("owner", owner); err != nil {
		return ri, err
	}
	if in.Serial != nil {
		s, err := parseID16("serial", *in.Serial)
		if err != nil {
			return ri, err
		}
		serial := keyblob.Serial(s)
		ri.Serial = &serial
	}
	ri.To, err = parseRecipient("to", to)
	return ri, err
}

func (h *Handler) recovery(ctx context.Context, r *http.Request, req *Request) (int, any, error) {
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
	return http.StatusOK, RecoveryViewV1{Recovery: recoveryV1(st)}, nil
}

func (h *Handler) complete(ctx context.Context, r *http.Request, req *Request) (int, any, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, nil, err
	}
	var in CompleteRequestV1
	if err := firstError(noQuery(r), DecodeJSON(req.Body, &in)); err != nil {
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
	return http.StatusOK, CompleteResponseV1{Recovery: recoveryV1(st), Owner: ownerV1(o), Receipt: receiptV1(rc)}, nil
}

func (h *Handler) approve(ctx context.Context, r *http.Request, req *Request) (int, any, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, nil, err
	}
	var in ApprovalRequestV1
	if err := firstError(noQuery(r), DecodeJSON(req.Body, &in)); err != nil {
		return 0, nil, err
	}
	st, rc, err := h.svc.Approve(ctx, req, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, RecoveryResponseV1{Recovery: recoveryV1(st), Receipt: receiptV1(rc)}, nil
}

func (h *Handler) keys(ctx context.Context, r *http.Request, req *Request) (int, any, error) {
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
	out := KeyListV1{Keys: make([]KeyV1, 0, len(ks))}
	for _, k := range ks {
		out.Keys = append(out.Keys, keyV1(k))
	}
	if len(ks) > 0 {
		out.Next = next(len(ks), limit, ks[len(ks)-1].Seq)
	}
	return http.StatusOK, out, nil
}
