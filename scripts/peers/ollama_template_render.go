// Renders the TEMPLATE of an Ollama Modelfile for conversations, with Go's text/template and the values Ollama's
// template.Execute passes for a chat (written from reading ollama/ollama's server/routes.go, which puts the
// Modelfile's SYSTEM first when a conversation does not start with a system message, and template/template.go:
// `collate` keeps system messages in .Messages, joins them into .System, and merges consecutive messages of one role).
// Run by scripts/peers/ollama_modelfile_check.sh:
//
//	go run ollama_template_render.go MODELFILE CONVERSATIONS.json   # prints a JSON list of rendered prompts
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"
)

type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

func collate(messages []Message) (string, []*Message) {
	var system []string
	var collated []*Message
	for i := range messages {
		if messages[i].Role == "system" {
			system = append(system, messages[i].Content)
		}
		if len(collated) > 0 && collated[len(collated)-1].Role == messages[i].Role && messages[i].Role != "tool" {
			collated[len(collated)-1].Content += "\n\n" + messages[i].Content
		} else {
			m := messages[i]
			collated = append(collated, &m)
		}
	}
	return strings.Join(system, "\n\n"), collated
}

// The text of the Modelfile's `COMMAND """..."""`; ok false when it has none.
func block(modelfile, command string) (string, bool, error) {
	start := strings.Index(modelfile, "\n"+command+" \"\"\"")
	if start < 0 {
		return "", false, nil
	}
	rest := modelfile[start+len(command)+5:]
	end := strings.Index(rest, "\"\"\"")
	if end < 0 {
		return "", false, fmt.Errorf("%s is not closed", command)
	}
	return rest[:end], true, nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: ollama_template_render MODELFILE CONVERSATIONS.json")
		os.Exit(2)
	}
	modelfile, err := os.ReadFile(os.Args[1])
	check(err)
	source, ok, err := block(string(modelfile), "TEMPLATE")
	check(err)
	if !ok {
		check(fmt.Errorf("no TEMPLATE \"\"\" in the Modelfile"))
	}
	defaultSystem, hasSystem, err := block(string(modelfile), "SYSTEM")
	check(err)
	tmpl, err := template.New("").Parse(source)
	check(err)
	data, err := os.ReadFile(os.Args[2])
	check(err)
	var conversations [][]Message
	check(json.Unmarshal(data, &conversations))
	var rendered []string
	for _, messages := range conversations {
		if hasSystem && defaultSystem != "" && (len(messages) == 0 || messages[0].Role != "system") {
			messages = append([]Message{{Role: "system", Content: defaultSystem}}, messages...)
		}
		system, collated := collate(messages)
		var b strings.Builder
		check(tmpl.Execute(&b, map[string]any{"System": system, "Messages": collated, "Tools": nil, "Prompt": "", "Response": ""}))
		rendered = append(rendered, b.String())
	}
	out, err := json.Marshal(rendered)
	check(err)
	fmt.Println(string(out))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
