// officina's own fallback chat templates for models that ship none. Each
// renders system/user/assistant/tool messages, OpenAI `tools` and assistant
// `tool_calls` in the format the tool-call parser reads back
// (tool_call_parser.h), accepts content given as a string or as a list of
// {"type": "text"} parts, and wraps the assistant's words in
// {% generation %} so training can mask everything else.
#include "text/chat_template.h"

namespace officina {
namespace {

// Shared helpers: the text of a content value, and a JSON value as text.
constexpr std::string_view kMacros = R"JINJA(
{%- macro text(content) -%}
  {%- if content is string -%}{{- content -}}
  {%- elif content is iterable and content is not mapping -%}
    {%- for part in content -%}{%- if part is mapping and part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}{%- endfor -%}
  {%- elif content is not none -%}{{- content | tojson -}}
  {%- endif -%}
{%- endmacro -%}
{%- macro as_json(value) -%}
  {%- if value is string -%}{{- value -}}{%- else -%}{{- value | tojson -}}{%- endif -%}
{%- endmacro -%}
{%- macro function_of(tool) -%}
  {%- if tool['function'] is defined -%}{{- tool['function'] | tojson -}}{%- else -%}{{- tool | tojson -}}{%- endif -%}
{%- endmacro -%}
)JINJA";

constexpr std::string_view kChatML = R"JINJA(
{%- set ns = namespace(system='') -%}
{%- if messages and messages[0]['role'] == 'system' -%}{%- set ns.system = text(messages[0]['content']) -%}{%- endif -%}
{%- if tools -%}
  {%- set ns.system = (ns.system + '\n\n' if ns.system else '') + 'You may call one or more functions to answer. Their signatures are listed inside <tools></tools>:\n<tools>' -%}
  {%- for tool in tools -%}{%- set ns.system = ns.system + '\n' + function_of(tool) -%}{%- endfor -%}
  {%- set ns.system = ns.system + '\n</tools>\n\nTo call a function, reply with one JSON object per call inside <tool_call></tool_call> tags:\n<tool_call>\n{"name": <function-name>, "arguments": <arguments-json-object>}\n</tool_call>' -%}
{%- endif -%}
{%- if ns.system -%}{{- '<|im_start|>system\n' + ns.system + '<|im_end|>\n' -}}{%- endif -%}
{%- for message in messages -%}
  {%- if message['role'] == 'system' and loop.first -%}
  {%- elif message['role'] == 'assistant' -%}
    {{- '<|im_start|>assistant\n' -}}
    {%- generation -%}
      {{- text(message['content']) -}}
      {%- if message['tool_calls'] is defined and message['tool_calls'] -%}
        {%- for call in message['tool_calls'] -%}
          {%- if message['content'] or not loop.first -%}{{- '\n' -}}{%- endif -%}
          {{- '<tool_call>\n{"name": "' + call['function']['name'] + '", "arguments": ' + as_json(call['function']['arguments']) + '}\n</tool_call>' -}}
        {%- endfor -%}
      {%- endif -%}
      {{- '<|im_end|>' -}}
    {%- endgeneration -%}
    {{- '\n' -}}
  {%- elif message['role'] == 'tool' -%}
    {{- '<|im_start|>tool\n<tool_response>\n' + text(message['content']) + '\n</tool_response><|im_end|>\n' -}}
  {%- else -%}
    {{- '<|im_start|>' + message['role'] + '\n' + text(message['content']) + '<|im_end|>\n' -}}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\n' -}}{%- endif -%}
)JINJA";

constexpr std::string_view kLlama3 = R"JINJA(
{{- bos_token -}}
{%- set ns = namespace(system='') -%}
{%- if messages and messages[0]['role'] == 'system' -%}{%- set ns.system = text(messages[0]['content']) | trim -%}{%- endif -%}
{%- if tools -%}
  {%- set ns.system = (ns.system + '\n\n' if ns.system else '') + 'You have access to the functions below. To call one, reply with only a JSON object of the form {"name": function name, "parameters": object of argument names and values}.' -%}
  {%- for tool in tools -%}{%- set ns.system = ns.system + '\n\n' + function_of(tool) -%}{%- endfor -%}
{%- endif -%}
{%- if ns.system -%}{{- '<|start_header_id|>system<|end_header_id|>\n\n' + ns.system + '<|eot_id|>' -}}{%- endif -%}
{%- for message in messages -%}
  {%- if message['role'] == 'system' and loop.first -%}
  {%- elif message['role'] == 'assistant' -%}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
    {%- generation -%}
      {%- if message['tool_calls'] is defined and message['tool_calls'] -%}
        {%- for call in message['tool_calls'] -%}
          {%- if not loop.first -%}{{- '; ' -}}{%- endif -%}
          {{- '{"name": "' + call['function']['name'] + '", "parameters": ' + as_json(call['function']['arguments']) + '}' -}}
        {%- endfor -%}
      {%- else -%}
        {{- text(message['content']) | trim -}}
      {%- endif -%}
      {{- '<|eot_id|>' -}}
    {%- endgeneration -%}
  {%- elif message['role'] == 'tool' or message['role'] == 'ipython' -%}
    {{- '<|start_header_id|>ipython<|end_header_id|>\n\n' + text(message['content']) | trim + '<|eot_id|>' -}}
  {%- else -%}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + text(message['content']) | trim + '<|eot_id|>' -}}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}{%- endif -%}
)JINJA";

constexpr std::string_view kMistral = R"JINJA(
{%- set ns = namespace(system='', last_user=-1) -%}
{%- for message in messages -%}{%- if message['role'] == 'user' -%}{%- set ns.last_user = loop.index0 -%}{%- endif -%}{%- endfor -%}
{%- if messages and messages[0]['role'] == 'system' -%}{%- set ns.system = text(messages[0]['content']) -%}{%- endif -%}
{{- bos_token -}}
{%- for message in messages -%}
  {%- if message['role'] == 'system' and loop.first -%}
  {%- elif message['role'] == 'user' -%}
    {%- if tools and loop.index0 == ns.last_user -%}
      {{- '[AVAILABLE_TOOLS] [' -}}
      {%- for tool in tools -%}{%- if not loop.first -%}{{- ', ' -}}{%- endif -%}{{- '{"type": "function", "function": ' + function_of(tool) + '}' -}}{%- endfor -%}
      {{- '][/AVAILABLE_TOOLS]' -}}
    {%- endif -%}
    {{- '[INST] ' -}}
    {%- if ns.system and loop.index0 == ns.last_user -%}{{- ns.system + '\n\n' -}}{%- endif -%}
    {{- text(message['content']) + '[/INST]' -}}
  {%- elif message['role'] == 'assistant' -%}
    {%- generation -%}
      {%- if message['tool_calls'] is defined and message['tool_calls'] -%}
        {{- '[TOOL_CALLS] [' -}}
        {%- for call in message['tool_calls'] -%}
          {%- if not loop.first -%}{{- ', ' -}}{%- endif -%}
          {{- '{"name": "' + call['function']['name'] + '", "arguments": ' + as_json(call['function']['arguments']) -}}
          {%- if call['id'] is defined -%}{{- ', "id": "' + call['id'] + '"' -}}{%- endif -%}
          {{- '}' -}}
        {%- endfor -%}
        {{- ']' + eos_token -}}
      {%- else -%}
        {{- ' ' + text(message['content']) + eos_token -}}
      {%- endif -%}
    {%- endgeneration -%}
  {%- elif message['role'] == 'tool' -%}
    {{- '[TOOL_RESULTS] {"content": ' + text(message['content']) | tojson -}}
    {%- if message['tool_call_id'] is defined -%}{{- ', "call_id": "' + message['tool_call_id'] + '"' -}}{%- endif -%}
    {{- '}[/TOOL_RESULTS]' -}}
  {%- endif -%}
{%- endfor -%}
)JINJA";

std::string join(std::string_view a, std::string_view b) {
  std::string s(a);
  s += b;
  return s;
}

}  // namespace

std::string_view fallback_template_source(FallbackTemplate which) {
  static const std::string chatml = join(kMacros, kChatML);
  static const std::string llama3 = join(kMacros, kLlama3);
  static const std::string mistral = join(kMacros, kMistral);
  switch (which) {
    case FallbackTemplate::ChatML: return chatml;
    case FallbackTemplate::Llama3: return llama3;
    case FallbackTemplate::Mistral: return mistral;
  }
  return chatml;
}

}  // namespace officina
