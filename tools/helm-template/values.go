package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	yaml "gopkg.in/yaml.v2"
)

// readValues reads a values file with helm's types: YAML read through JSON, so string keys and
// float64 numbers.
func readValues(file string) (map[string]interface{}, error) {
	text, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var raw interface{}
	if err := yaml.Unmarshal(text, &raw); err != nil {
		return nil, fmt.Errorf("%s: %s", file, err)
	}
	switch v := jsonTyped(raw).(type) {
	case nil:
		return map[string]interface{}{}, nil
	case map[string]interface{}:
		return v, nil
	}
	return nil, fmt.Errorf("%s: the values must be a mapping", file)
}

// userValues merges the -f files in order, then applies each --set.
func userValues(o *options) (map[string]interface{}, error) {
	values := map[string]interface{}{}
	for _, file := range o.valueFiles {
		v, err := readValues(file)
		if err != nil {
			return nil, err
		}
		values = mergeMaps(values, v)
	}
	for _, s := range o.sets {
		if err := applySet(values, s.expr, s.asString); err != nil {
			return nil, fmt.Errorf("failed parsing --set data %q: %s", s.expr, err)
		}
	}
	return values, nil
}

// mergeMaps lays b over a: maps merge key by key, anything else replaces.
func mergeMaps(a, b map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		bm, bIsMap := v.(map[string]interface{})
		am, aIsMap := out[k].(map[string]interface{})
		if bIsMap && aIsMap {
			out[k] = mergeMaps(am, bm)
		} else {
			out[k] = v
		}
	}
	return out
}

// coalesce lays the user's values over the chart's defaults; a user's null removes the key.
func coalesce(user, defaults map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(defaults))
	for k, v := range defaults {
		out[k] = v
	}
	for k, v := range user {
		um, userIsMap := v.(map[string]interface{})
		dm, defaultIsMap := out[k].(map[string]interface{})
		switch {
		case v == nil:
			delete(out, k)
		case userIsMap && defaultIsMap:
			out[k] = coalesce(um, dm)
		default:
			out[k] = v
		}
	}
	return out
}

// applySet applies one --set argument: comma-separated KEY=VALUE, KEY a dotted path whose parts
// may end in [INDEX], VALUE a scalar or {a,b} list; a backslash escapes the next character.
func applySet(values map[string]interface{}, expr string, asString bool) error {
	rest := []rune(expr)
	for len(rest) > 0 {
		key, stop, after := cut(rest, "=,")
		if stop != '=' {
			return fmt.Errorf("key %q has no value", unescape(key))
		}
		var value interface{}
		if len(after) > 0 && after[0] == '{' {
			items, stop, tail := cut(after[1:], "}")
			if stop != '}' {
				return errors.New("list must terminate with '}'")
			}
			if len(tail) > 0 && tail[0] != ',' {
				return errors.New("a list must be followed by ',' or the end")
			}
			list := []interface{}{}
			for len(items) > 0 {
				var item []rune
				item, _, items = cut(items, ",")
				list = append(list, typedValue(unescape(item), asString))
			}
			value, rest = list, tail
			if len(rest) > 0 {
				rest = rest[1:]
			}
		} else {
			var text []rune
			text, _, rest = cut(after, ",")
			value = typedValue(unescape(text), asString)
		}
		steps, err := keyPath(key)
		if err != nil {
			return err
		}
		if _, err := setPath(values, steps, value); err != nil {
			return err
		}
	}
	return nil
}

// cut splits s at the first unescaped rune of stops, returning stop 0 when there is none.
func cut(s []rune, stops string) (before []rune, stop rune, after []rune) {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
		} else if strings.ContainsRune(stops, s[i]) {
			return s[:i], s[i], s[i+1:]
		}
	}
	return s, 0, nil
}

func unescape(s []rune) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteRune(s[i])
	}
	return b.String()
}

// typedValue types a --set value as helm does: true, false, null and integers without a leading
// zero; everything else stays a string.
func typedValue(s string, asString bool) interface{} {
	switch {
	case asString:
		return s
	case strings.EqualFold(s, "true"):
		return true
	case strings.EqualFold(s, "false"):
		return false
	case strings.EqualFold(s, "null"):
		return nil
	case s == "0":
		return int64(0)
	case s != "" && s[0] != '0':
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
	}
	return s
}

var indexSuffix = regexp.MustCompile(`\[(\d+)\]$`)

// keyPath turns a.b[0].c into the steps "a", "b", 0, "c".
func keyPath(key []rune) ([]interface{}, error) {
	var steps []interface{}
	for len(key) > 0 || steps == nil {
		var part []rune
		part, _, key = cut(key, ".")
		name := unescape(part)
		var indexes []interface{}
		for m := indexSuffix.FindStringSubmatch(name); m != nil; m = indexSuffix.FindStringSubmatch(name) {
			n, _ := strconv.Atoi(m[1])
			if n > 65536 {
				return nil, fmt.Errorf("index of %s is too large", name)
			}
			indexes = append([]interface{}{n}, indexes...)
			name = strings.TrimSuffix(name, m[0])
		}
		if name == "" {
			return nil, errors.New("a key part is empty")
		}
		steps = append(append(steps, name), indexes...)
	}
	return steps, nil
}

// setPath stores value at steps under node, making maps and lists on the way, and returns node.
func setPath(node interface{}, steps []interface{}, value interface{}) (interface{}, error) {
	if len(steps) == 0 {
		return value, nil
	}
	var err error
	switch step := steps[0].(type) {
	case string:
		m, ok := node.(map[string]interface{})
		if !ok {
			m = map[string]interface{}{}
		}
		m[step], err = setPath(m[step], steps[1:], value)
		return m, err
	default:
		i := step.(int)
		list, _ := node.([]interface{})
		for len(list) <= i {
			list = append(list, nil)
		}
		list[i], err = setPath(list[i], steps[1:], value)
		return list, err
	}
}
