package api

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// FelixConfiguration has some 200 fields, most of them simple values with one constraint
// each. Rather than a hand-written line per field, such fields carry a `check:"..."` tag
// with the constraint of Calico's validator
// (libcalico-go/lib/validator/v3/validator.go, the `validate` tags of
// api/pkg/apis/projectcalico/v3/felixconfig.go), and checkTags applies them:
//
//	oneof=A B C     the value is one of the words (case-sensitive, as Calico's oneof)
//	min=N, max=N    integer bounds
//	regexp          a regular expression that compiles
//	nets            every item is an IP or CIDR
//	iface           an interface name (Calico's interfaceRegex)
//	ifaceFilter     an interface name or "prefix+" (Calico's ifaceFilterRegex); ifaceFilters for lists
//	ifaceKeys       map keys are interface names (bpfLogFilters)
//	keyValueList    "k=v,k=v" (featureGates, featureDetectOverride)
//	prometheusHost  a host name or address for the metrics listener
//	ctTimeout       a Go duration or "Auto" (BPF conntrack timeouts)

var (
	calicoIface       = lazyRE(`^[a-zA-Z0-9_.-]{1,15}$`)
	calicoIfaceFilter = lazyRE(`^[a-zA-Z0-9:._+-]{1,15}$`)
	keyValueItem      = lazyRE(`^\s*(\w+)=(.*)$`)
	prometheusHost    = lazyRE(`^[a-zA-Z0-9:._+-]{1,64}$`)
	ctTimeout         = lazyRE(`^(([0-9]*(\.[0-9]*)?(ms|s|h|m|us)+)+|Auto)$`)
)

// checkTags validates every field of the struct v points to that has a check tag, and
// recurses into nested structs; path is the JSON path of v.
func checkTags(e *Errs, path string, v any) {
	checkTagsValue(e, path, reflect.ValueOf(v))
}

func checkTagsValue(e *Errs, path string, v reflect.Value) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		fv := v.Field(i)
		if fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				continue // unset
			}
			fv = fv.Elem()
		} else if fv.IsZero() {
			continue // unset (omitempty)
		}
		p := path + "." + name
		if tag := f.Tag.Get("check"); tag != "" {
			for _, c := range strings.Split(tag, ",") {
				checkOne(e, p, c, fv)
			}
		}
		if fv.Kind() == reflect.Struct {
			checkTagsValue(e, p, fv)
		}
	}
}

func checkOne(e *Errs, path, c string, v reflect.Value) {
	rule, arg, _ := strings.Cut(c, "=")
	switch rule {
	case "oneof":
		if s := v.String(); s != "" {
			CheckOneOf(e, path, s, true, strings.Fields(arg)...)
		}
	case "min", "max":
		n, _ := strconv.ParseInt(arg, 10, 64)
		x := toInt64(v)
		if rule == "min" && x < n || rule == "max" && x > n {
			e.Add(path, x, "must be %s %d", map[string]string{"min": "at least", "max": "at most"}[rule], n)
		}
	case "regexp":
		if _, err := regexp.Compile(v.String()); err != nil {
			e.Add(path, v.String(), "must be a regular expression: %v", err)
		}
	case "nets":
		for i := 0; i < v.Len(); i++ {
			CheckNet(e, path+"["+itoa(i)+"]", v.Index(i).String())
		}
	case "iface":
		if !calicoIface.MatchString(v.String()) {
			e.Add(path, v.String(), "must be an interface name of 1-15 letters, digits, '_', '.' or '-'")
		}
	case "ifaceFilter":
		checkIfaceFilter(e, path, v.String())
	case "ifaceFilters":
		for i := 0; i < v.Len(); i++ {
			checkIfaceFilter(e, path+"["+itoa(i)+"]", v.Index(i).String())
		}
	case "ifaceKeys":
		for _, k := range v.MapKeys() {
			if !calicoIface.MatchString(k.String()) {
				e.Add(path+"["+k.String()+"]", nil, "key must be an interface name of 1-15 letters, digits, '_', '.' or '-'")
			}
		}
	case "keyValueList":
		for _, item := range strings.Split(v.String(), ",") {
			if item != "" && strings.TrimSpace(v.String()) != "" && !keyValueItem.MatchString(item) {
				e.Add(path, v.String(), "must be a comma-separated list of key=value (item %q)", item)
				break
			}
		}
	case "prometheusHost":
		if !prometheusHost.MatchString(v.String()) {
			e.Add(path, v.String(), "must be a host name or address of 1-64 letters, digits, ':', '.', '_', '+' or '-'")
		}
	case "ctTimeout":
		if !ctTimeout.MatchString(v.String()) {
			e.Add(path, v.String(), "must be a duration such as \"30s\" or \"Auto\"")
		}
	default:
		panic("api: unknown check tag " + rule) // a typo in a struct tag: caught by every test
	}
}

func checkIfaceFilter(e *Errs, path, s string) {
	if !calicoIfaceFilter.MatchString(s) {
		e.Add(path, s, "must be an interface name or a prefix ending in '+', 1-15 letters, digits, ':', '.', '_', '+' or '-'")
	}
}

func toInt64(v reflect.Value) int64 {
	switch v.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(v.Uint())
	}
	return v.Int()
}
