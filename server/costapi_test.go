package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tformer/tformer/cost"
	"github.com/tformer/tformer/model"
)

// /api/cost returns the cost package's report for the same model, as
// `tformer cost --preset gpt2 --layers 6 --share all --seq 512,1024 --format json` builds it.
func TestCostAPIMatchesCostPackage(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	body := `{"preset":"gpt2","model":{"layers":6,"share":"all"},"seqs":[512,1024]}`
	resp, err := http.Post(ts.URL+"/api/cost", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Report    json.RawMessage `json:"report"`
		Inference []InferenceCost `json:"inference"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
	spec, _ := cost.Preset("gpt2")
	spec.Config.Layers, spec.Config.Share = 6, model.ShareAll
	rep, err := cost.NewReport(spec, cost.Options{Seqs: []int{512, 1024}, Causal: true})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(rep)
	var a, b any
	_ = json.Unmarshal(got.Report, &a)
	_ = json.Unmarshal(want, &b)
	ga, _ := json.Marshal(a)
	gb, _ := json.Marshal(b)
	if string(ga) != string(gb) {
		t.Errorf("report differs from cost.NewReport:\n%s\n%s", ga, gb)
	}
	if len(got.Inference) != 2 || got.Inference[1].KVCache != 2*6*1024*768*4 || got.Inference[1].DecodeFlops != spec.DecodeStep(1023).Total() {
		t.Errorf("inference %+v", got.Inference)
	}
	for _, bad := range []string{`{"preset":"nope"}`, `{"model":{"heads":5}}`, `{"seqs":[0]}`, `{"config":{"model_type":"t5"}}`} {
		resp, err := http.Post(ts.URL+"/api/cost", "application/json", strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", bad, resp.StatusCode)
		}
	}
}
