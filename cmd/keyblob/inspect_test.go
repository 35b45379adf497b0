package main

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// The logic of inspect is tested in internal/inspect; its scripts are
// inspect*.txtar.

// jsonget is a script command of inspect's scripts:
//
//	jsonget FILE PATH       print the JSON value at PATH in FILE (or
//	                        stdout), compact, as stdout; PATH is members
//	                        and list indexes joined by dots ("a.0.b")
func init() { scriptCmds["jsonget"] = cmdJSONGet }

func cmdJSONGet(ts *testscript.TestScript, neg bool, args []string) {
	usage(ts, neg, 2, args, "jsonget FILE PATH")
	var v any
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &v))
	for _, step := range strings.Split(args[1], ".") {
		v = jsonStep(ts, v, step)
	}
	out, err := json.Marshal(v)
	ts.Check(err)
	ts.Stdout().Write(append(out, '\n'))
}

func jsonStep(ts *testscript.TestScript, v any, step string) any {
	switch v := v.(type) {
	case map[string]any:
		next, ok := v[step]
		if !ok {
			ts.Fatalf("no member %q", step)
		}
		return next
	case []any:
		i, err := strconv.Atoi(step)
		if err != nil || i < 0 || i >= len(v) {
			ts.Fatalf("no element %q in a list of %d", step, len(v))
		}
		return v[i]
	}
	ts.Fatalf("%q: not an object or a list", step)
	return nil
}
