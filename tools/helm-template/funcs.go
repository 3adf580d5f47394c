package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	yaml "gopkg.in/yaml.v2"
)

// engine holds every template of the chart in one set, so include finds the partials' defines.
type engine struct {
	root     *template.Template
	included map[string]int
}

// Helm's bound on a template including itself.
const maxIncludeDepth = 1000

func newEngine(templates map[string]string) (*engine, error) {
	e := &engine{included: map[string]int{}}
	e.root = template.New("").Option("missingkey=zero")
	e.root.Funcs(e.funcs(e.root))
	// Helm parses the deepest paths first and, at one depth, in reverse order: when two files
	// define the same name, the later parse (the shallower, then alphabetically first) wins.
	names := make([]string, 0, len(templates))
	for name := range templates {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		di, dj := strings.Count(names[i], "/"), strings.Count(names[j], "/")
		if di != dj {
			return di > dj
		}
		return names[i] > names[j]
	})
	for _, name := range names {
		if _, err := e.root.New(name).Parse(templates[name]); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// render executes one template; like helm, a missing value prints as nothing.
func (e *engine) render(name string, data interface{}) (string, error) {
	var b strings.Builder
	if err := e.root.ExecuteTemplate(&b, name, data); err != nil {
		return "", helmError(err)
	}
	return strings.ReplaceAll(b.String(), "<no value>", ""), nil
}

// The frame text/template puts around an error a function returned.
var callError = regexp.MustCompile(`template: (\S+): executing "[^"]*" at <.*?>: error calling \w+: `)

// helmError words a failing function call (fail, required, ...) as helm does: the innermost
// template position, then the message alone.
func helmError(err error) error {
	msg := err.Error()
	frames := callError.FindAllStringSubmatchIndex(msg, -1)
	if len(frames) == 0 {
		return err
	}
	last := frames[len(frames)-1]
	return fmt.Errorf("execution error at (%s): %s", msg[last[2]:last[3]], msg[last[1]:])
}

// funcs are sprig's functions (without env and expandenv, as in helm) and helm's own, with
// include and tpl bound to set.
func (e *engine) funcs(set *template.Template) template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	f["toYaml"] = toYAML
	f["fromYaml"] = fromYAML
	f["fromYamlArray"] = fromYAMLArray
	f["toJson"] = toJSON
	f["fromJson"] = fromJSON
	f["fromJsonArray"] = fromJSONArray
	f["required"] = required
	// Without a cluster nothing exists, as with helm template.
	f["lookup"] = func(apiVersion, kind, namespace, name string) map[string]interface{} {
		return map[string]interface{}{}
	}
	f["include"] = func(name string, data interface{}) (string, error) {
		if e.included[name] > maxIncludeDepth {
			return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
		}
		e.included[name]++
		defer func() { e.included[name]-- }()
		var b strings.Builder
		err := set.ExecuteTemplate(&b, name, data)
		return b.String(), err
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		clone, err := set.Clone()
		if err != nil {
			return "", err
		}
		clone.Funcs(e.funcs(clone))
		t, err := clone.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var b strings.Builder
		if err := t.Execute(&b, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(b.String(), "<no value>", ""), nil
	}
	return f
}

func required(message string, value interface{}) (interface{}, error) {
	if s, isString := value.(string); value == nil || isString && s == "" {
		return value, errors.New(message)
	}
	return value, nil
}

// toYAML writes v as helm does: through JSON (so keys sorted and numbers plain), then YAML.
func toYAML(v interface{}) string {
	j, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	var generic interface{}
	if err := yaml.Unmarshal(j, &generic); err != nil {
		return ""
	}
	out, err := yaml.Marshal(generic)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(out), "\n")
}

func toJSON(v interface{}) string {
	out, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(out)
}

// fromYAML, fromJSON and the array forms return what they cannot read as {"Error": message} or
// ["message"], as helm does, so a template can test for it.
func fromYAML(text string) map[string]interface{} {
	var raw interface{}
	err := yaml.Unmarshal([]byte(text), &raw)
	if err == nil {
		switch v := jsonTyped(raw).(type) {
		case map[string]interface{}:
			return v
		case nil:
			return map[string]interface{}{}
		}
		err = errors.New("the YAML is not a mapping")
	}
	return map[string]interface{}{"Error": err.Error()}
}

func fromYAMLArray(text string) []interface{} {
	var raw interface{}
	err := yaml.Unmarshal([]byte(text), &raw)
	if err == nil {
		switch v := jsonTyped(raw).(type) {
		case []interface{}:
			return v
		case nil:
			return []interface{}{}
		}
		err = errors.New("the YAML is not a sequence")
	}
	return []interface{}{err.Error()}
}

func fromJSON(text string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromJSONArray(text string) []interface{} {
	a := []interface{}{}
	if err := json.Unmarshal([]byte(text), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

// jsonTyped gives a decoded YAML value the types helm's YAML-through-JSON reading gives it:
// string keys and float64 numbers.
func jsonTyped(v interface{}) interface{} {
	switch v := v.(type) {
	case map[interface{}]interface{}:
		m := make(map[string]interface{}, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = jsonTyped(e)
		}
		return m
	case []interface{}:
		for i, e := range v {
			v[i] = jsonTyped(e)
		}
		return v
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case uint64:
		return float64(v)
	}
	return v
}

// files are the chart's files outside templates/, as .Files.
type files map[string][]byte

func (f files) Get(name string) string { return string(f[name]) }

func (f files) GetBytes(name string) []byte { return f[name] }

// Lines splits a file into lines, without an empty last one for the final newline.
func (f files) Lines(name string) []string {
	text := strings.TrimSuffix(string(f[name]), "\n")
	if text == "" {
		return []string{}
	}
	return strings.Split(text, "\n")
}

// Glob selects the files matching pattern: * and ? stay within a folder, ** crosses folders,
// {a,b} is either, [...] a class.
func (f files) Glob(pattern string) (files, error) {
	re, err := globRegexp(pattern)
	if err != nil {
		return nil, err
	}
	out := files{}
	for name, data := range f {
		if re.MatchString(name) {
			out[name] = data
		}
	}
	return out, nil
}

func globRegexp(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	braces := 0
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case c == '*' && strings.HasPrefix(pattern[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '{':
			braces++
			b.WriteString("(?:")
		case c == '}' && braces > 0:
			braces--
			b.WriteString(")")
		case c == ',' && braces > 0:
			b.WriteString("|")
		case c == '[':
			end := strings.IndexByte(pattern[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("glob %q: unclosed [", pattern)
			}
			class := pattern[i+1 : i+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i += end
		case c == '\\' && i+1 < len(pattern):
			i++
			b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	return regexp.Compile("^" + b.String() + "$")
}

type capabilities struct {
	KubeVersion kubeVersion
	APIVersions versionSet
}

type kubeVersion struct {
	Version, Major, Minor string
}

func (k kubeVersion) String() string { return k.Version }

// GitVersion is the older name of Version, which charts still use.
func (k kubeVersion) GitVersion() string { return k.Version }

type versionSet []string

// Has reports whether an API version ("apps/v1") is served: the built-in ones and --api-versions
// (which may also name a kind, "apps/v1/Deployment").
func (s versionSet) Has(version string) bool {
	for _, v := range s {
		if v == version {
			return true
		}
	}
	return false
}
