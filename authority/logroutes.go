package authority

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
)

// The transparency log's public routes (spec/escrow-api.md section 7.12):
// unsigned GETs that anyone, a monitor without an account included, may
// make; they serve hashes only, never an entry.

func (h *Handler) logRoutes() {
	h.mux.HandleFunc("GET /v1/log/checkpoint", h.checkpoint)
	h.mux.HandleFunc("GET /v1/log/tile/{path...}", h.tile)
	h.mux.HandleFunc("GET /v1/log/consistency", h.consistency)
	h.mux.HandleFunc("GET /v1/log/inclusion", h.inclusion)
}

func (h *Handler) checkpoint(w http.ResponseWriter, r *http.Request) {
	if err := h.plainRequest(w, r, false); err != nil {
		h.fail(w, r, err)
		return
	}
	_, note, err := h.svc.Checkpoint(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(note)
}

func (h *Handler) tile(w http.ResponseWriter, r *http.Request) {
	if err := h.plainRequest(w, r, false); err != nil {
		h.fail(w, r, err)
		return
	}
	data, err := h.svc.Tile(r.Context(), "tile/"+r.PathValue("path"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	// A full tile never changes; a partial one is replaced by a wider one.
	if len(data) == api.TileSize {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-store")
	}
	w.Write(data)
}

func (h *Handler) consistency(w http.ResponseWriter, r *http.Request) {
	old, size, err := h.sizes(w, r, "old")
	if err == nil {
		var p []api.Hash
		if p, err = h.svc.ConsistencyProof(r.Context(), old, size); err == nil {
			h.reply(w, http.StatusOK, api.ProofV1{Proof: api.EncodeProof(p)})
			return
		}
	}
	h.fail(w, r, err)
}

func (h *Handler) inclusion(w http.ResponseWriter, r *http.Request) {
	seq, size, err := h.sizes(w, r, "seq")
	if err == nil {
		var p []api.Hash
		if p, err = h.svc.InclusionProof(r.Context(), seq, size); err == nil {
			h.reply(w, http.StatusOK, api.ProofV1{Proof: api.EncodeProof(p)})
			return
		}
	}
	h.fail(w, r, err)
}

// sizes reads a proof's query: exactly the parameters first and "size",
// each once, canonical decimal numbers below 2^63.
func (h *Handler) sizes(w http.ResponseWriter, r *http.Request, first string) (uint64, uint64, error) {
	if err := h.plainRequest(w, r, true); err != nil {
		return 0, 0, err
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || len(q) != 2 {
		return 0, 0, fmt.Errorf("%w query string: want %s=N&size=N", errMalformed, first)
	}
	a, errA := number(q[first])
	b, errB := number(q["size"])
	if errA != nil || errB != nil {
		return 0, 0, fmt.Errorf("%w query string: want %s=N&size=N, canonical numbers", errMalformed, first)
	}
	return a, b, nil
}

// number reads the one canonical decimal value of a parameter.
func number(vs []string) (uint64, error) {
	if len(vs) != 1 {
		return 0, errMalformed
	}
	n, err := strconv.ParseUint(vs[0], 10, 63)
	if err != nil || strconv.FormatUint(n, 10) != vs[0] {
		return 0, errMalformed
	}
	return n, nil
}

// receiptV1 is rc on the wire, with the proof that its checkpoint extends
// the tree the client said it saw (api.HeaderLogSize), when it is older:
// the client then needs no second request to check the log.
func (h *Handler) receiptV1(ctx context.Context, req *api.Request, rc api.Receipt) api.ReceiptV1 {
	v := rc.V1()
	size, ok := noteSize(h.svc.fp, rc.Checkpoint)
	if req.LogSize == 0 || !ok || req.LogSize >= size {
		return v
	}
	proof, err := h.svc.ConsistencyProof(ctx, req.LogSize, size)
	if err == nil {
		v.Consistency = &api.ConsistencyV1{Old: req.LogSize, Proof: api.EncodeProof(proof)}
	}
	return v
}

// noteSize is the tree size of a checkpoint note the service signed.
func noteSize(fp keyblob.Fingerprint, note []byte) (uint64, bool) {
	i := bytes.Index(note, []byte("\n\n"))
	if i < 0 {
		return 0, false
	}
	c, err := api.ParseCheckpoint(api.Origin(fp), string(note[:i+1]))
	return c.Size, err == nil
}
