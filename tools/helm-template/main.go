// Command helm-template renders a Helm chart as `helm template RELEASE CHART [flags]` does, for
// machines without helm: Go's text/template with sprig's functions and Helm's own (funcs.go),
// built from Debian's packages by the launcher beside this file (run).
package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	yaml "gopkg.in/yaml.v2"
)

const usage = `Usage: helm-template [RELEASE] CHART [flags]

Renders the chart directory CHART as "helm template" does.

Flags:
  -f, --values FILE          values merged over the chart's values.yaml (repeatable)
      --set KEY=VALUE        a value, typed as helm types it (repeatable; a=1,b.c[0]=x,d={e,f})
      --set-string KEY=VALUE a value kept as a string (repeatable)
  -n, --namespace NAME       .Release.Namespace (default "default")
  -a, --api-versions G/V     an API version .Capabilities.APIVersions.Has reports (repeatable)
      --kube-version V       .Capabilities.KubeVersion (default ` + defaultKubeVersion + `)
  -s, --show-only PATH       only the manifests of templates matching PATH, e.g. templates/x.yaml
`

// The Kubernetes version helm assumes when it talks to no cluster (helm 3.18's).
const defaultKubeVersion = "v1.33.0"

// The API versions of a plain cluster, which helm assumes without one.
var builtinAPIVersions = []string{
	"v1", "admissionregistration.k8s.io/v1", "apiextensions.k8s.io/v1", "apps/v1",
	"authentication.k8s.io/v1", "authorization.k8s.io/v1", "autoscaling/v1", "autoscaling/v2",
	"batch/v1", "certificates.k8s.io/v1", "coordination.k8s.io/v1", "discovery.k8s.io/v1",
	"events.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1", "networking.k8s.io/v1",
	"node.k8s.io/v1", "policy/v1", "rbac.authorization.k8s.io/v1", "scheduling.k8s.io/v1",
	"storage.k8s.io/v1",
}

type options struct {
	release, chart, namespace, kubeVersion string
	valueFiles, apiVersions, showOnly      []string
	sets                                   []setFlag
}

type setFlag struct {
	expr     string
	asString bool
}

var errHelp = errors.New("help")

func main() {
	opts, err := parseArgs(os.Args[1:])
	if err == errHelp {
		fmt.Print(usage)
		return
	}
	if err == nil {
		err = run(opts, os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %s\n", err)
		os.Exit(1)
	}
}

// Every flag takes a value, as "--flag value" or "--flag=value".
var knownFlags = map[string]bool{
	"-f": true, "--values": true, "--set": true, "--set-string": true, "-n": true,
	"--namespace": true, "-a": true, "--api-versions": true, "--kube-version": true, "-s": true,
	"--show-only": true,
}

func parseArgs(args []string) (*options, error) {
	o := &options{namespace: "default", kubeVersion: defaultKubeVersion}
	var positional []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "-h" || arg == "-help" || arg == "--help" {
			return nil, errHelp
		}
		if !strings.HasPrefix(arg, "-") {
			positional = append(positional, arg)
			continue
		}
		name, value, inline := strings.Cut(arg, "=")
		if !knownFlags[name] {
			return nil, fmt.Errorf("unknown flag: %s (see --help)", name)
		}
		if !inline {
			if i+1 == len(args) {
				return nil, fmt.Errorf("flag needs an argument: %s", name)
			}
			i++
			value = args[i]
		}
		switch name {
		case "-f", "--values":
			o.valueFiles = append(o.valueFiles, strings.Split(value, ",")...)
		case "--set", "--set-string":
			o.sets = append(o.sets, setFlag{value, name == "--set-string"})
		case "-n", "--namespace":
			o.namespace = value
		case "-a", "--api-versions":
			o.apiVersions = append(o.apiVersions, strings.Split(value, ",")...)
		case "--kube-version":
			o.kubeVersion = value
		case "-s", "--show-only":
			o.showOnly = append(o.showOnly, value)
		}
	}
	switch len(positional) {
	case 1:
		o.release, o.chart = "release-name", positional[0]
	case 2:
		o.release, o.chart = positional[0], positional[1]
	default:
		return nil, fmt.Errorf("expected RELEASE CHART, got %d arguments (see --help)", len(positional))
	}
	return o, nil
}

// chartMeta is Chart.yaml under the field names templates use (.Chart.AppVersion, ...).
type chartMeta struct {
	APIVersion   string            `yaml:"apiVersion"`
	Name         string            `yaml:"name"`
	Version      string            `yaml:"version"`
	KubeVersion  string            `yaml:"kubeVersion"`
	Description  string            `yaml:"description"`
	Type         string            `yaml:"type"`
	Keywords     []string          `yaml:"keywords"`
	Home         string            `yaml:"home"`
	Sources      []string          `yaml:"sources"`
	Maintainers  []maintainer      `yaml:"maintainers"`
	Icon         string            `yaml:"icon"`
	AppVersion   string            `yaml:"appVersion"`
	Deprecated   bool              `yaml:"deprecated"`
	Annotations  map[string]string `yaml:"annotations"`
	Dependencies []interface{}     `yaml:"dependencies"`
}

type maintainer struct {
	Name  string `yaml:"name"`
	Email string `yaml:"email"`
	URL   string `yaml:"url"`
}

type chart struct {
	meta      chartMeta
	defaults  map[string]interface{}
	templates map[string]string // by name, e.g. "order-food/templates/deployment.yaml"
	files     files             // everything helm offers as .Files
}

func run(o *options, out io.Writer) error {
	c, err := loadChart(o.chart)
	if err != nil {
		return err
	}
	values, err := userValues(o)
	if err != nil {
		return err
	}
	caps, err := capabilitiesFor(o)
	if err != nil {
		return err
	}
	top := map[string]interface{}{
		"Values": coalesce(values, c.defaults),
		"Release": map[string]interface{}{
			"Name": o.release, "Namespace": o.namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		"Chart":        c.meta,
		"Capabilities": caps,
		"Files":        c.files,
	}
	e, err := newEngine(c.templates)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(c.templates))
	for name := range c.templates {
		names = append(names, name)
	}
	sort.Strings(names)

	type manifest struct{ path, text string }
	var manifests []manifest
	base := c.meta.Name + "/templates"
	for _, name := range names {
		if strings.HasPrefix(path.Base(name), "_") {
			continue // partials hold definitions only
		}
		data := make(map[string]interface{}, len(top)+1)
		for k, v := range top {
			data[k] = v
		}
		data["Template"] = map[string]interface{}{"Name": name, "BasePath": base}
		text, err := e.render(name, data)
		if err != nil {
			return err
		}
		if name == base+"/NOTES.txt" {
			continue // helm shows the notes after an install, not among the manifests
		}
		for _, doc := range documentSeparator.Split(strings.TrimSpace(text), -1) {
			if doc = strings.TrimSpace(doc); doc != "" {
				manifests = append(manifests, manifest{strings.TrimPrefix(name, c.meta.Name+"/"), doc})
			}
		}
	}

	selected := manifests
	if len(o.showOnly) > 0 {
		selected = nil
		for _, pattern := range o.showOnly {
			found := false
			for _, m := range manifests {
				if ok, _ := path.Match(filepath.ToSlash(pattern), m.path); ok {
					selected = append(selected, m)
					found = true
				}
			}
			if !found {
				return fmt.Errorf("could not find template %s in chart", pattern)
			}
		}
	}
	for _, m := range selected {
		fmt.Fprintf(out, "---\n# Source: %s/%s\n%s\n", c.meta.Name, m.path, m.text)
	}
	return nil
}

// Helm splits a template's output into documents here, whatever follows the dashes.
var documentSeparator = regexp.MustCompile(`(?:^|\s*\n)---\s*`)

// A Kubernetes version as helm reads it: v1.29, 1.29.3, v1.29.3-gke.1 ...
var kubeVersionPattern = regexp.MustCompile(`^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?([-+].*)?$`)

func capabilitiesFor(o *options) (*capabilities, error) {
	m := kubeVersionPattern.FindStringSubmatch(o.kubeVersion)
	if m == nil {
		return nil, fmt.Errorf("invalid --kube-version %q: expected MAJOR.MINOR[.PATCH]", o.kubeVersion)
	}
	number := func(s string) string {
		n, _ := strconv.ParseUint("0"+s, 10, 64)
		return strconv.FormatUint(n, 10)
	}
	major, minor := number(m[1]), number(m[2])
	versions := append(append(versionSet{}, builtinAPIVersions...), o.apiVersions...)
	return &capabilities{
		KubeVersion: kubeVersion{
			Version: "v" + major + "." + minor + "." + number(m[3]) + m[4],
			Major:   major,
			Minor:   minor,
		},
		APIVersions: versions,
	}, nil
}

func loadChart(dir string) (*chart, error) {
	metaText, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, fmt.Errorf("%s is not a chart directory: %s", dir, err)
	}
	c := &chart{templates: map[string]string{}, files: files{}}
	if err := yaml.Unmarshal(metaText, &c.meta); err != nil {
		return nil, fmt.Errorf("Chart.yaml: %s", err)
	}
	if c.meta.Name == "" {
		return nil, errors.New("Chart.yaml: name is required")
	}
	if len(c.meta.Dependencies) > 0 {
		return nil, errors.New("Chart.yaml: dependencies (subcharts) are not supported")
	}
	if c.defaults, err = readValues(filepath.Join(dir, "values.yaml")); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	if c.defaults == nil {
		c.defaults = map[string]interface{}{}
	}
	ignore, err := readIgnore(filepath.Join(dir, ".helmignore"))
	if err != nil {
		return nil, err
	}
	err = filepath.WalkDir(dir, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, file)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if ignore.matches(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if rel == "charts" {
				return errors.New("charts/: subcharts are not supported")
			}
			return nil
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(rel, "templates/"):
			c.templates[c.meta.Name+"/"+rel] = string(data)
		case rel == "Chart.yaml", rel == "Chart.lock", rel == "values.yaml", rel == "values.schema.json":
		default:
			c.files[rel] = data
		}
		return nil
	})
	return c, err
}

// ignoreRules are .helmignore's patterns: a pattern with a slash matches the path from the chart
// root, one without matches any file or folder name; a trailing slash matches folders only, a
// leading "!" takes a path back in. Hidden files in templates/ are always left out, as helm does.
type ignoreRules []string

func readIgnore(file string) (ignoreRules, error) {
	rules := ignoreRules{"templates/.?*"}
	text, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return rules, nil
	}
	for _, line := range strings.Split(string(text), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			rules = append(rules, line)
		}
	}
	return rules, err
}

func (rules ignoreRules) matches(rel string, dir bool) bool {
	ignored := false
	for _, rule := range rules {
		negate := strings.HasPrefix(rule, "!")
		rule = strings.TrimPrefix(rule, "!")
		if strings.HasSuffix(rule, "/") {
			if !dir {
				continue
			}
			rule = strings.TrimSuffix(rule, "/")
		}
		target := path.Base(rel)
		if strings.Contains(rule, "/") {
			rule, target = strings.TrimPrefix(rule, "/"), rel
		}
		if ok, _ := path.Match(rule, target); ok {
			ignored = !negate
		}
	}
	return ignored
}

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
