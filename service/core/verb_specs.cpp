// Table generated once from specs.json of @jambonz/verb-specifications 0.1.13 and checked
// against that package's validator; keep it in step with the jambonz version we claim.
// Two entries are marked BadSpec because jambonz's validator throws an assertion for them
// whatever the value (sm_audioEventsConfig.types, noiseIsolationPipeline.direction).
#include "core/verb_specs.hpp"

#include <algorithm>

namespace dp::core {
namespace {

using K = PropKind;

constexpr PropSpec k_alert_p[] = {
    {"id", K::Type, "string"},
    {"message", K::Type, "string"},
};
constexpr std::string_view k_alert_r[] = {"message"};
constexpr PropSpec k_answer_p[] = {
    {"id", K::Type, "string"},
};
constexpr PropSpec k_sip_decline_p[] = {
    {"id", K::Type, "string"},
    {"status", K::Type, "number"},
    {"reason", K::Type, "string"},
    {"headers", K::Type, "object"},
};
constexpr std::string_view k_sip_decline_r[] = {"status"};
constexpr PropSpec k_sip_request_p[] = {
    {"id", K::Type, "string"},
    {"method", K::Type, "string"},
    {"body", K::Type, "string"},
    {"headers", K::Type, "object"},
    {"actionHook", K::Union, "object,string"},
};
constexpr std::string_view k_sip_request_r[] = {"method"};
constexpr PropSpec k_sip_refer_p[] = {
    {"id", K::Type, "string"},
    {"referTo", K::Type, "string"},
    {"referredBy", K::Type, "string"},
    {"referredByDisplayName", K::Type, "string"},
    {"headers", K::Type, "object"},
    {"actionHook", K::Union, "object,string"},
    {"eventHook", K::Union, "object,string"},
};
constexpr std::string_view k_sip_refer_r[] = {"referTo"};
constexpr PropSpec k_config_p[] = {
    {"id", K::Type, "string"},
    {"synthesizer", K::Ref, "synthesizer"},
    {"recognizer", K::Ref, "recognizer"},
    {"bargeIn", K::Ref, "bargeIn"},
    {"ttsStream", K::Ref, "ttsStream"},
    {"record", K::Ref, "recordOptions"},
    {"listen", K::Ref, "listenOptions"},
    {"stream", K::Ref, "listenOptions"},
    {"transcribe", K::Ref, "transcribeOptions"},
    {"amd", K::Ref, "amd"},
    {"fillerNoise", K::Ref, "fillerNoise"},
    {"notifyEvents", K::Type, "boolean"},
    {"notifySttLatency", K::Type, "boolean"},
    {"reset", K::Union, "string,array"},
    {"onHoldMusic", K::Type, "string"},
    {"actionHookDelayAction", K::Ref, "actionHookDelayAction"},
    {"sipRequestWithinDialogHook", K::Union, "object,string"},
    {"boostAudioSignal", K::Union, "number,string"},
    {"vad", K::Ref, "vad"},
    {"referHook", K::Union, "object,string"},
    {"earlyMedia", K::Type, "boolean"},
    {"autoStreamTts", K::Type, "boolean"},
    {"disableTtsCache", K::Type, "boolean"},
    {"trackTtsPlayout", K::Type, "boolean"},
    {"noiseIsolation", K::Ref, "noiseIsolation"},
    {"turnTaking", K::Ref, "turnTaking"},
};
constexpr PropSpec k_fillerNoise_p[] = {
    {"enable", K::Type, "boolean"},
    {"url", K::Type, "string"},
    {"startDelaySecs", K::Type, "number"},
};
constexpr std::string_view k_fillerNoise_r[] = {"enable"};
constexpr PropSpec k_listenOptions_p[] = {
    {"enable", K::Type, "boolean"},
    {"url", K::Type, "string"},
    {"sampleRate", K::Type, "number"},
    {"wsAuth", K::Ref, "auth"},
    {"mixType", K::Enum, "mono,stereo,mixed"},
    {"metadata", K::Type, "object"},
    {"maxLength", K::Type, "number"},
    {"passDtmf", K::Type, "boolean"},
    {"playBeep", K::Type, "boolean"},
    {"disableBidirectionalAudio", K::Type, "boolean"},
    {"bidirectionalAudio", K::Ref, "bidirectionalAudio"},
    {"timeout", K::Type, "number"},
};
constexpr std::string_view k_listenOptions_r[] = {"enable"};
constexpr PropSpec k_ttsStream_p[] = {
    {"enable", K::Type, "boolean"},
    {"synthesizer", K::Ref, "synthesizer"},
};
constexpr std::string_view k_ttsStream_r[] = {"enable"};
constexpr PropSpec k_bargeIn_p[] = {
    {"enable", K::Type, "boolean"},
    {"sticky", K::Type, "boolean"},
    {"actionHook", K::Union, "object,string"},
    {"partialResultHook", K::Union, "object,string"},
    {"input", K::Array, ""},
    {"finishOnKey", K::Type, "string"},
    {"numDigits", K::Type, "number"},
    {"minDigits", K::Type, "number"},
    {"maxDigits", K::Type, "number"},
    {"interDigitTimeout", K::Type, "number"},
    {"dtmfBargein", K::Type, "boolean"},
    {"minBargeinWordCount", K::Type, "number"},
};
constexpr std::string_view k_bargeIn_r[] = {"enable"};
constexpr PropSpec k_transcribeOptions_p[] = {
    {"enable", K::Type, "boolean"},
    {"transcriptionHook", K::Type, "string"},
    {"recognizer", K::Ref, "recognizer"},
};
constexpr std::string_view k_transcribeOptions_r[] = {"enable"};
constexpr PropSpec k_dub_p[] = {
    {"id", K::Type, "string"},
    {"action", K::Enum, "addTrack,removeTrack,silenceTrack,playOnTrack,sayOnTrack"},
    {"track", K::Type, "string"},
    {"play", K::Type, "string"},
    {"say", K::Union, "string,object"},
    {"loop", K::Type, "boolean"},
    {"gain", K::Union, "number,string"},
};
constexpr std::string_view k_dub_r[] = {"action", "track"};
constexpr PropSpec k_dequeue_p[] = {
    {"id", K::Type, "string"},
    {"name", K::Type, "string"},
    {"actionHook", K::Union, "object,string"},
    {"timeout", K::Type, "number"},
    {"beep", K::Type, "boolean"},
    {"callSid", K::Type, "string"},
};
constexpr std::string_view k_dequeue_r[] = {"name"};
constexpr PropSpec k_enqueue_p[] = {
    {"id", K::Type, "string"},
    {"name", K::Type, "string"},
    {"actionHook", K::Union, "object,string"},
    {"waitHook", K::Union, "object,string"},
    {"priority", K::Type, "number"},
    {"_", K::Type, "object"},
};
constexpr std::string_view k_enqueue_r[] = {"name"};
constexpr PropSpec k_leave_p[] = {
    {"id", K::Type, "string"},
};
constexpr PropSpec k_hangup_p[] = {
    {"id", K::Type, "string"},
    {"headers", K::Type, "object"},
};
constexpr PropSpec k_play_p[] = {
    {"id", K::Type, "string"},
    {"url", K::Union, "string,array"},
    {"loop", K::Union, "number,string"},
    {"earlyMedia", K::Type, "boolean"},
    {"seekOffset", K::Union, "number,string"},
    {"timeoutSecs", K::Union, "number,string"},
    {"actionHook", K::Union, "object,string"},
};
constexpr std::string_view k_play_r[] = {"url"};
constexpr PropSpec k_say_p[] = {
    {"id", K::Type, "string"},
    {"text", K::Union, "string,array"},
    {"instructions", K::Type, "string"},
    {"stream", K::Type, "boolean"},
    {"loop", K::Union, "number,string"},
    {"synthesizer", K::Ref, "synthesizer"},
    {"earlyMedia", K::Type, "boolean"},
    {"disableTtsCache", K::Type, "boolean"},
    {"closeStreamOnEmpty", K::Type, "boolean"},
};
constexpr PropSpec k_gather_p[] = {
    {"id", K::Type, "string"},
    {"actionHook", K::Union, "object,string"},
    {"finishOnKey", K::Type, "string"},
    {"input", K::Array, ""},
    {"numDigits", K::Type, "number"},
    {"minDigits", K::Type, "number"},
    {"maxDigits", K::Type, "number"},
    {"interDigitTimeout", K::Type, "number"},
    {"partialResultHook", K::Union, "object,string"},
    {"speechTimeout", K::Type, "number"},
    {"listenDuringPrompt", K::Type, "boolean"},
    {"dtmfBargein", K::Type, "boolean"},
    {"bargein", K::Type, "boolean"},
    {"minBargeinWordCount", K::Type, "number"},
    {"timeout", K::Type, "number"},
    {"recognizer", K::Ref, "recognizer"},
    {"play", K::Ref, "play"},
    {"say", K::Ref, "say"},
    {"fillerNoise", K::Ref, "fillerNoise"},
    {"actionHookDelayAction", K::Ref, "actionHookDelayAction"},
};
constexpr PropSpec k_conference_p[] = {
    {"id", K::Type, "string"},
    {"name", K::Type, "string"},
    {"beep", K::Type, "boolean"},
    {"memberTag", K::Type, "string"},
    {"speakOnlyTo", K::Type, "string"},
    {"startConferenceOnEnter", K::Type, "boolean"},
    {"endConferenceOnExit", K::Type, "boolean"},
    {"endConferenceDuration", K::Type, "number"},
    {"maxParticipants", K::Type, "number"},
    {"joinMuted", K::Type, "boolean"},
    {"actionHook", K::Union, "object,string"},
    {"waitHook", K::Union, "object,string"},
    {"statusEvents", K::Array, ""},
    {"statusHook", K::Union, "object,string"},
    {"enterHook", K::Union, "object,string"},
    {"record", K::Ref, "record"},
    {"listen", K::Ref, "listen"},
    {"distributeDtmf", K::Type, "boolean"},
};
constexpr std::string_view k_conference_r[] = {"name"};
constexpr PropSpec k_dial_p[] = {
    {"id", K::Type, "string"},
    {"actionHook", K::Union, "object,string"},
    {"onHoldHook", K::Union, "object,string"},
    {"answerOnBridge", K::Type, "boolean"},
    {"callerId", K::Type, "string"},
    {"callerName", K::Type, "string"},
    {"confirmHook", K::Union, "object,string"},
    {"referHook", K::Union, "object,string"},
    {"dialMusic", K::Type, "string"},
    {"dtmfCapture", K::Type, "object"},
    {"dtmfHook", K::Union, "object,string"},
    {"headers", K::Type, "object"},
    {"anchorMedia", K::Type, "boolean"},
    {"exitMediaPath", K::Type, "boolean"},
    {"boostAudioSignal", K::Union, "number,string"},
    {"listen", K::Ref, "listen"},
    {"stream", K::Ref, "listen"},
    {"target", K::RefArray, "target"},
    {"timeLimit", K::Type, "number"},
    {"timeout", K::Type, "number"},
    {"proxy", K::Type, "string"},
    {"transcribe", K::Ref, "transcribe"},
    {"amd", K::Ref, "amd"},
    {"dub", K::RefArray, "dub"},
    {"tag", K::Type, "object"},
    {"forwardPAI", K::Type, "boolean"},
    {"srtpEncryption", K::Enum, "sdes,dtls"},
};
constexpr std::string_view k_dial_r[] = {"target"};
constexpr PropSpec k_dialogflow_p[] = {
    {"id", K::Type, "string"},
    {"credentials", K::Union, "object,string"},
    {"project", K::Type, "string"},
    {"agent", K::Type, "string"},
    {"environment", K::Type, "string"},
    {"region", K::Type, "string"},
    {"model", K::Enum, "es,cx,ces"},
    {"lang", K::Type, "string"},
    {"actionHook", K::Union, "object,string"},
    {"eventHook", K::Union, "object,string"},
    {"events", K::Array, ""},
    {"welcomeEvent", K::Type, "string"},
    {"welcomeEventParams", K::Type, "object"},
    {"noInputTimeout", K::Type, "number"},
    {"noInputEvent", K::Type, "string"},
    {"passDtmfAsTextInput", K::Type, "boolean"},
    {"thinkingMusic", K::Type, "string"},
    {"tts", K::Ref, "synthesizer"},
    {"bargein", K::Type, "boolean"},
    {"queryInput", K::Ref, "queryInput"},
};
constexpr std::string_view k_dialogflow_r[] = {"project", "credentials", "lang"};
constexpr PropSpec k_queryInput_p[] = {
    {"text", K::Type, "string"},
    {"intent", K::Type, "string"},
    {"event", K::Type, "string"},
    {"dtmf", K::Type, "string"},
};
constexpr PropSpec k_dtmf_p[] = {
    {"id", K::Type, "string"},
    {"dtmf", K::Type, "string"},
    {"duration", K::Type, "number"},
};
constexpr std::string_view k_dtmf_r[] = {"dtmf"};
constexpr PropSpec k_lex_p[] = {
    {"id", K::Type, "string"},
    {"botId", K::Type, "string"},
    {"botAlias", K::Type, "string"},
    {"credentials", K::Type, "object"},
    {"region", K::Type, "string"},
    {"locale", K::Type, "string"},
    {"intent", K::Ref, "lexIntent"},
    {"welcomeMessage", K::Type, "string"},
    {"metadata", K::Type, "object"},
    {"bargein", K::Type, "boolean"},
    {"passDtmf", K::Type, "boolean"},
    {"actionHook", K::Union, "object,string"},
    {"eventHook", K::Union, "object,string"},
    {"noInputTimeout", K::Type, "number"},
    {"tts", K::Ref, "synthesizer"},
};
constexpr std::string_view k_lex_r[] = {"botId", "botAlias", "region", "credentials"};
constexpr PropSpec k_listen_p[] = {
    {"id", K::Type, "string"},
    {"actionHook", K::Union, "object,string"},
    {"auth", K::Ref, "auth"},
    {"finishOnKey", K::Type, "string"},
    {"maxLength", K::Type, "number"},
    {"metadata", K::Type, "object"},
    {"mixType", K::Enum, "mono,stereo,mixed"},
    {"passDtmf", K::Type, "boolean"},
    {"playBeep", K::Type, "boolean"},
    {"disableBidirectionalAudio", K::Type, "boolean"},
    {"bidirectionalAudio", K::Ref, "bidirectionalAudio"},
    {"sampleRate", K::Type, "number"},
    {"timeout", K::Type, "number"},
    {"transcribe", K::Ref, "transcribe"},
    {"url", K::Type, "string"},
    {"wsAuth", K::Ref, "auth"},
    {"earlyMedia", K::Type, "boolean"},
    {"channel", K::Type, "number"},
};
constexpr std::string_view k_listen_r[] = {"url"};
constexpr PropSpec k_llm_p[] = {
    {"id", K::Type, "string"},
    {"vendor", K::Type, "string"},
    {"model", K::Type, "string"},
    {"auth", K::Type, "object"},
    {"connectOptions", K::Type, "object"},
    {"mcpServers", K::RefArray, "mcpServer"},
    {"actionHook", K::Union, "object,string"},
    {"eventHook", K::Union, "object,string"},
    {"toolHook", K::Union, "object,string"},
    {"events", K::Array, ""},
    {"llmOptions", K::Type, "object"},
};
constexpr std::string_view k_llm_r[] = {"vendor", "llmOptions"};
constexpr PropSpec k_mcpServer_p[] = {
    {"url", K::Type, "string"},
    {"auth", K::Type, "object"},
    {"roots", K::RefArray, "root"},
};
constexpr std::string_view k_mcpServer_r[] = {"url"};
constexpr PropSpec k_message_p[] = {
    {"id", K::Type, "string"},
    {"carrier", K::Type, "string"},
    {"account_sid", K::Type, "string"},
    {"message_sid", K::Type, "string"},
    {"to", K::Type, "string"},
    {"from", K::Type, "string"},
    {"text", K::Type, "string"},
    {"media", K::Union, "string,array"},
    {"actionHook", K::Union, "object,string"},
};
constexpr std::string_view k_message_r[] = {"to", "from"};
constexpr PropSpec k_pause_p[] = {
    {"id", K::Type, "string"},
    {"length", K::Type, "number"},
};
constexpr std::string_view k_pause_r[] = {"length"};
constexpr PropSpec k_rasa_p[] = {
    {"id", K::Type, "string"},
    {"url", K::Type, "string"},
    {"recognizer", K::Ref, "recognizer"},
    {"tts", K::Ref, "synthesizer"},
    {"prompt", K::Type, "string"},
    {"actionHook", K::Union, "object,string"},
    {"eventHook", K::Union, "object,string"},
};
constexpr std::string_view k_rasa_r[] = {"url"};
constexpr PropSpec k_record_p[] = {
    {"path", K::Type, "string"},
};
constexpr std::string_view k_record_r[] = {"path"};
constexpr PropSpec k_recordOptions_p[] = {
    {"action", K::Enum, "startCallRecording,stopCallRecording,pauseCallRecording,resumeCallRecording"},
    {"type", K::Enum, "cloud,siprec"},
    {"recordingID", K::Type, "string"},
    {"siprecServerURL", K::Union, "string,array"},
    {"headers", K::Type, "object"},
};
constexpr std::string_view k_recordOptions_r[] = {"action"};
constexpr PropSpec k_redirect_p[] = {
    {"id", K::Type, "string"},
    {"actionHook", K::Union, "object,string"},
    {"statusHook", K::Union, "object,string"},
};
constexpr std::string_view k_redirect_r[] = {"actionHook"};
constexpr PropSpec k_rest_dial_p[] = {
    {"id", K::Type, "string"},
    {"account_sid", K::Type, "string"},
    {"application_sid", K::Type, "string"},
    {"call_hook", K::Union, "object,string"},
    {"call_status_hook", K::Union, "object,string"},
    {"from", K::Type, "string"},
    {"callerName", K::Type, "string"},
    {"fromHost", K::Type, "string"},
    {"speech_synthesis_vendor", K::Type, "string"},
    {"speech_synthesis_voice", K::Type, "string"},
    {"speech_synthesis_language", K::Type, "string"},
    {"speech_recognizer_vendor", K::Type, "string"},
    {"speech_recognizer_language", K::Type, "string"},
    {"tag", K::Type, "object"},
    {"to", K::Ref, "target"},
    {"headers", K::Type, "object"},
    {"timeout", K::Type, "number"},
    {"amd", K::Ref, "amd"},
    {"dual_streams", K::Type, "boolean"},
    {"sipRequestWithinDialogHook", K::Type, "string"},
    {"referHook", K::Union, "object,string"},
    {"timeLimit", K::Type, "number"},
};
constexpr std::string_view k_rest_dial_r[] = {"call_hook", "from", "to"};
constexpr PropSpec k_tag_p[] = {
    {"id", K::Type, "string"},
    {"data", K::Type, "object"},
};
constexpr std::string_view k_tag_r[] = {"data"};
constexpr PropSpec k_transcribe_p[] = {
    {"id", K::Type, "string"},
    {"transcriptionHook", K::Type, "string"},
    {"translationHook", K::Type, "string"},
    {"recognizer", K::Ref, "recognizer"},
    {"earlyMedia", K::Type, "boolean"},
    {"channel", K::Type, "number"},
};
constexpr PropSpec k_target_p[] = {
    {"type", K::Enum, "phone,sip,user,teams"},
    {"confirmHook", K::Union, "object,string"},
    {"method", K::Enum, "GET,POST"},
    {"headers", K::Type, "object"},
    {"from", K::Ref, "dialFrom"},
    {"name", K::Type, "string"},
    {"number", K::Type, "string"},
    {"sipUri", K::Type, "string"},
    {"auth", K::Ref, "auth"},
    {"vmail", K::Type, "boolean"},
    // jambonz's docs name it `voicemail`, its validator knows only `vmail`: dialplane accepts both (README).
    {"voicemail", K::Type, "boolean"},
    {"tenant", K::Type, "string"},
    {"trunk", K::Type, "string"},
    {"overrideTo", K::Type, "string"},
    {"proxy", K::Type, "string"},
};
constexpr std::string_view k_target_r[] = {"type"};
constexpr PropSpec k_dialFrom_p[] = {
    {"user", K::Type, "string"},
    {"host", K::Type, "string"},
};
constexpr PropSpec k_auth_p[] = {
    {"username", K::Type, "string"},
    {"password", K::Type, "string"},
};
constexpr std::string_view k_auth_r[] = {"username", "password"};
constexpr PropSpec k_synthesizer_p[] = {
    {"vendor", K::Type, "string"},
    {"label", K::Type, "string"},
    {"language", K::Type, "string"},
    {"voice", K::Union, "string,object"},
    {"fallbackVendor", K::Type, "string"},
    {"fallbackLabel", K::Type, "string"},
    {"fallbackLanguage", K::Type, "string"},
    {"fallbackVoice", K::Union, "string,object"},
    {"engine", K::Enum, "standard,neural,generative,long-form"},
    {"gender", K::Enum, "MALE,FEMALE,NEUTRAL"},
    {"options", K::Type, "object"},
};
constexpr std::string_view k_synthesizer_r[] = {"vendor"};
constexpr PropSpec k_recognizer_p[] = {
    {"vendor", K::Type, "string"},
    {"label", K::Type, "string"},
    {"language", K::Type, "string"},
    {"fallbackVendor", K::Type, "string"},
    {"fallbackLabel", K::Type, "string"},
    {"fallbackLanguage", K::Type, "string"},
    {"vad", K::Ref, "vad"},
    {"autogeneratePrompt", K::Type, "boolean"},
    {"hints", K::Array, ""},
    {"hintsBoost", K::Type, "number"},
    {"altLanguages", K::Array, ""},
    {"profanityFilter", K::Type, "boolean"},
    {"interim", K::Type, "boolean"},
    {"singleUtterance", K::Type, "boolean"},
    {"dualChannel", K::Type, "boolean"},
    {"separateRecognitionPerChannel", K::Type, "boolean"},
    {"punctuation", K::Type, "boolean"},
    {"enhancedModel", K::Type, "boolean"},
    {"words", K::Type, "boolean"},
    {"diarization", K::Type, "boolean"},
    {"diarizationMinSpeakers", K::Type, "number"},
    {"diarizationMaxSpeakers", K::Type, "number"},
    {"interactionType", K::Enum, "unspecified,discussion,presentation,phone_call,voicemail,voice_search,voice_command,dictation"},
    {"naicsCode", K::Type, "number"},
    {"identifyChannels", K::Type, "boolean"},
    {"vocabularyName", K::Type, "string"},
    {"vocabularyFilterName", K::Type, "string"},
    {"filterMethod", K::Enum, "remove,mask,tag"},
    {"model", K::Type, "string"},
    {"outputFormat", K::Enum, "simple,detailed"},
    {"profanityOption", K::Enum, "masked,removed,raw"},
    {"requestSnr", K::Type, "boolean"},
    {"initialSpeechTimeoutMs", K::Type, "number"},
    {"azureServiceEndpoint", K::Type, "string"},
    {"azureSttEndpointId", K::Type, "string"},
    {"asrDtmfTerminationDigit", K::Type, "string"},
    {"asrTimeout", K::Type, "number"},
    {"fastRecognitionTimeout", K::Type, "number"},
    {"minConfidence", K::Type, "number"},
    {"nuanceOptions", K::Ref, "nuanceOptions"},
    {"deepgramOptions", K::Ref, "deepgramOptions"},
    {"ibmOptions", K::Ref, "ibmOptions"},
    {"nvidiaOptions", K::Ref, "nvidiaOptions"},
    {"sonioxOptions", K::Ref, "sonioxOptions"},
    {"cobaltOptions", K::Ref, "cobaltOptions"},
    {"awsOptions", K::Ref, "awsOptions"},
    {"azureOptions", K::Ref, "azureOptions"},
    {"assemblyAiOptions", K::Ref, "assemblyAiOptions"},
    {"googleOptions", K::Ref, "googleOptions"},
    {"customOptions", K::Ref, "customOptions"},
    {"verbioOptions", K::Ref, "verbioOptions"},
    {"speechmaticsOptions", K::Ref, "speechmaticsOptions"},
    {"openaiOptions", K::Ref, "openaiOptions"},
    {"houndifyOptions", K::Ref, "houndifyOptions"},
    {"gladiaOptions", K::Type, "object"},
    {"elevenlabsOptions", K::Ref, "elevenlabsOptions"},
};
constexpr std::string_view k_recognizer_r[] = {"vendor"};
constexpr PropSpec k_customOptions_p[] = {
    {"authToken", K::Type, "string"},
    {"uri", K::Type, "string"},
    {"sampleRate", K::Type, "number"},
    {"options", K::Type, "object"},
};
constexpr PropSpec k_awsOptions_p[] = {
    {"accessKey", K::Type, "string"},
    {"secretKey", K::Type, "string"},
    {"securityToken", K::Type, "string"},
    {"region", K::Type, "string"},
    {"vocabularyName", K::Type, "string"},
    {"vocabularyFilterName", K::Type, "string"},
    {"vocabularyFilterMethod", K::Enum, "remove,mask,tag"},
    {"languageModelName", K::Type, "string"},
    {"piiEntityTypes", K::Array, ""},
    {"piiIdentifyEntities", K::Type, "boolean"},
};
constexpr PropSpec k_azureOptions_p[] = {
    {"speechSegmentationSilenceTimeoutMs", K::Type, "number"},
    {"postProcessing", K::Type, "string"},
    {"audioLogging", K::Type, "boolean"},
    {"languageIdMode", K::Enum, "AtStart,Continuous"},
    {"speechRecognitionMode", K::Enum, "CONVERSATION,DICTATION,INTERACTIVE"},
};
constexpr PropSpec k_googleOptions_p[] = {
    {"serviceVersion", K::Enum, "v1,v2"},
    {"recognizerId", K::Type, "string"},
    {"speechStartTimeoutMs", K::Type, "number"},
    {"speechEndTimeoutMs", K::Type, "number"},
    {"enableVoiceActivityEvents", K::Type, "boolean"},
    {"transcriptNormalization", K::Array, ""},
    {"parentPath", K::Type, "string"},
};
constexpr PropSpec k_houndifyOptions_p[] = {
    {"requestInfo", K::Type, "object"},
    {"sampleRate", K::Type, "number"},
    {"latitude", K::Type, "number"},
    {"longitude", K::Type, "number"},
    {"city", K::Type, "string"},
    {"state", K::Type, "string"},
    {"country", K::Type, "string"},
    {"timeZone", K::Type, "string"},
    {"domain", K::Type, "string"},
    {"audioEndpoint", K::Type, "string"},
    {"maxSilenceSeconds", K::Type, "number"},
    {"maxSilenceAfterFullQuerySeconds", K::Type, "number"},
    {"maxSilenceAfterPartialQuerySeconds", K::Type, "number"},
    {"vadSensitivity", K::Type, "number"},
    {"vadTimeout", K::Type, "number"},
    {"vadMode", K::Type, "string"},
    {"vadVoiceMs", K::Type, "number"},
    {"vadSilenceMs", K::Type, "number"},
    {"vadDebug", K::Type, "boolean"},
    {"audioFormat", K::Type, "string"},
    {"enableNoiseReduction", K::Type, "boolean"},
    {"enableProfanityFilter", K::Type, "boolean"},
    {"enablePunctuation", K::Type, "boolean"},
    {"enableCapitalization", K::Type, "boolean"},
    {"confidenceThreshold", K::Type, "number"},
    {"enableDisfluencyFilter", K::Type, "boolean"},
    {"maxResults", K::Type, "number"},
    {"enableWordTimestamps", K::Type, "boolean"},
    {"maxAlternatives", K::Type, "number"},
    {"partialTranscriptInterval", K::Type, "number"},
    {"sessionTimeout", K::Type, "number"},
    {"connectionTimeout", K::Type, "number"},
    {"customVocabulary", K::Array, ""},
    {"languageModel", K::Type, "string"},
    {"audioQueryAbsoluteTimeout", K::Type, "number"},
};
constexpr PropSpec k_elevenlabsOptions_p[] = {
    {"includeTimestamps", K::Type, "boolean"},
    {"commitStrategy", K::Enum, "manual,vad"},
    {"vadSilenceThresholdSecs", K::Type, "number"},
    {"vadThreshold", K::Type, "number"},
    {"minSpeechDurationMs", K::Type, "number"},
    {"minSilenceDurationMs", K::Type, "number"},
    {"enableLogging", K::Type, "boolean"},
};
constexpr PropSpec k_cobaltOptions_p[] = {
    {"serverUri", K::Type, "string"},
    {"enableConfusionNetwork", K::Type, "boolean"},
    {"metadata", K::Type, "string"},
    {"compiledContextData", K::Type, "string"},
    {"wordTimeOffsets", K::Type, "boolean"},
    {"contextToken", K::Type, "string"},
};
constexpr PropSpec k_nvidiaOptions_p[] = {
    {"rivaUri", K::Type, "string"},
    {"maxAlternatives", K::Type, "number"},
    {"profanityFilter", K::Type, "boolean"},
    {"punctuation", K::Type, "boolean"},
    {"wordTimeOffsets", K::Type, "boolean"},
    {"verbatimTranscripts", K::Type, "boolean"},
    {"customConfiguration", K::Type, "object"},
};
constexpr PropSpec k_ibmOptions_p[] = {
    {"sttApiKey", K::Type, "string"},
    {"sttRegion", K::Type, "string"},
    {"ttsApiKey", K::Type, "string"},
    {"ttsRegion", K::Type, "string"},
    {"instanceId", K::Type, "string"},
    {"model", K::Type, "string"},
    {"languageCustomizationId", K::Type, "string"},
    {"acousticCustomizationId", K::Type, "string"},
    {"baseModelVersion", K::Type, "string"},
    {"watsonMetadata", K::Type, "string"},
    {"watsonLearningOptOut", K::Type, "boolean"},
};
constexpr PropSpec k_deepgramOptions_p[] = {
    {"deepgramSttUri", K::Type, "string"},
    {"deepgramSttUseTls", K::Type, "boolean"},
    {"apiKey", K::Type, "string"},
    {"tier", K::Type, "string"},
    {"model", K::Type, "string"},
    {"customModel", K::Type, "string"},
    {"version", K::Type, "string"},
    {"punctuate", K::Type, "boolean"},
    {"smartFormatting", K::Type, "boolean"},
    {"noDelay", K::Type, "boolean"},
    {"profanityFilter", K::Type, "boolean"},
    {"redact", K::Enum, "pci,numbers,true,ssn"},
    {"diarize", K::Type, "boolean"},
    {"diarizeVersion", K::Type, "string"},
    {"ner", K::Type, "boolean"},
    {"multichannel", K::Type, "boolean"},
    {"alternatives", K::Type, "number"},
    {"numerals", K::Type, "boolean"},
    {"search", K::Array, ""},
    {"replace", K::Array, ""},
    {"keywords", K::Array, ""},
    {"keyterms", K::Array, ""},
    {"endpointing", K::Union, "boolean,number"},
    {"utteranceEndMs", K::Type, "number"},
    {"shortUtterance", K::Type, "boolean"},
    {"vadTurnoff", K::Type, "number"},
    {"tag", K::Type, "string"},
    {"fillerWords", K::Type, "boolean"},
    {"eotThreshold", K::Type, "number"},
    {"eotTimeoutMs", K::Type, "number"},
    {"mipOptOut", K::Type, "boolean"},
    {"entityPrompt", K::Type, "string"},
    {"eagerEotThreshold", K::Type, "number"},
    {"languageHints", K::Array, ""},
};
constexpr PropSpec k_sonioxOptions_p[] = {
    {"apiKey", K::Type, "string"},
    {"model", K::Type, "string"},
    {"endpointDetection", K::Type, "boolean"},
    {"profanityFilter", K::Type, "boolean"},
    {"speechContext", K::Type, "string"},
    {"clientRequestReference", K::Type, "string"},
    {"storage", K::Ref, "sonioxStorage"},
};
constexpr PropSpec k_verbioOptions_p[] = {
    {"enable_formatting", K::Type, "boolean"},
    {"enable_diarization", K::Type, "boolean"},
    {"topic", K::Type, "number"},
    {"inline_grammar", K::Type, "string"},
    {"grammar_uri", K::Type, "string"},
    {"label", K::Type, "string"},
    {"recognition_timeout", K::Type, "number"},
    {"speech_complete_timeout", K::Type, "number"},
    {"speech_incomplete_timeout", K::Type, "number"},
};
constexpr PropSpec k_openaiOptions_p[] = {
    {"apiKey", K::Type, "string"},
    {"model", K::Type, "string"},
    {"prompt", K::Type, "string"},
    {"promptTemplates", K::Ref, "promptTemplates"},
    {"language", K::Type, "string"},
    {"input_audio_noise_reduction", K::Enum, "near_field,far_field"},
    {"turn_detection", K::Ref, "turnDetection"},
};
constexpr PropSpec k_promptTemplates_p[] = {
    {"hintsTemplate", K::Type, "string"},
    {"conversationHistoryTemplate", K::Type, "string"},
};
constexpr PropSpec k_turnDetection_p[] = {
    {"type", K::Enum, "none,server_vad,semantic_vad"},
    {"eagerness", K::Enum, "low,medium,high,auto"},
    {"threshold", K::Type, "number"},
    {"prefix_padding_ms", K::Type, "number"},
    {"silence_duration_ms", K::Type, "number"},
};
constexpr std::string_view k_turnDetection_r[] = {"type"};
constexpr PropSpec k_speechmaticsOptions_p[] = {
    {"host", K::Type, "string"},
    {"profile", K::Enum, "adaptive,agile,smart,external"},
    {"transcription_config", K::Ref, "sm_transcriptionConfig"},
    {"translation_config", K::Ref, "sm_translationConfig"},
    {"audio_events_config_config", K::Ref, "sm_audioEventsConfig"},
};
constexpr PropSpec k_sm_transcriptionConfig_p[] = {
    {"language", K::Type, "string"},
    {"domain", K::Type, "string"},
    {"additional_vocab", K::Array, ""},
    {"diarization", K::Type, "string"},
    {"speaker_diarization_config", K::Ref, "sm_speakerDiarizationConfig"},
    {"conversation_config", K::Ref, "sm_conversationConfig"},
    {"enable_partials", K::Type, "boolean"},
    {"max_delay", K::Type, "number"},
    {"max_delay_mode", K::Enum, "fixed,flexible"},
    {"output_locale", K::Type, "string"},
    {"punctuation_overrides", K::Ref, "sm_puctuationOverrides"},
    {"operating_point", K::Type, "string"},
    {"enable_entities", K::Type, "boolean"},
    {"audio_filtering_config", K::Ref, "sm_audioFilteringConfig"},
    {"transcript_filtering_config", K::Ref, "sm_transcriptFilteringConfig"},
};
constexpr PropSpec k_sm_speakerDiarizationConfig_p[] = {
    {"speaker_sensitivity", K::Type, "number"},
    {"max_speakers", K::Type, "number"},
};
constexpr PropSpec k_sm_conversationConfig_p[] = {
    {"end_of_utterance_silence_trigger", K::Type, "number"},
};
constexpr PropSpec k_sm_puctuationOverrides_p[] = {
    {"permitted_marks", K::Array, ""},
    {"sensitivity", K::Type, "number"},
};
constexpr PropSpec k_sm_audioFilteringConfig_p[] = {
    {"volume_threshold", K::Type, "number"},
};
constexpr std::string_view k_sm_audioFilteringConfig_r[] = {"volume_threshold"};
constexpr PropSpec k_sm_transcriptFilteringConfig_p[] = {
    {"remove_disfluencies", K::Type, "boolean"},
};
constexpr std::string_view k_sm_transcriptFilteringConfig_r[] = {"remove_disfluencies"};
constexpr PropSpec k_sm_translationConfig_p[] = {
    {"target_languages", K::Array, ""},
    {"enable_partials", K::Type, "boolean"},
};
constexpr std::string_view k_sm_translationConfig_r[] = {"target_languages"};
constexpr PropSpec k_sm_audioEventsConfig_p[] = {
    {"types", K::BadSpec, "invalid or missing type in spec {\"type\":\"array\",\"enum\":[\"applause\",\"music\",\"laughter\"]}"},
};
constexpr PropSpec k_sonioxStorage_p[] = {
    {"id", K::Type, "string"},
    {"title", K::Type, "string"},
    {"disableStoreAudio", K::Type, "boolean"},
    {"disableStoreTranscript", K::Type, "boolean"},
    {"disableSearch", K::Type, "boolean"},
    {"metadata", K::Type, "object"},
};
constexpr PropSpec k_nuanceOptions_p[] = {
    {"clientId", K::Type, "string"},
    {"secret", K::Type, "string"},
    {"kryptonEndpoint", K::Type, "string"},
    {"topic", K::Type, "string"},
    {"utteranceDetectionMode", K::Enum, "single,multiple,disabled"},
    {"punctuation", K::Type, "boolean"},
    {"profanityFilter", K::Type, "boolean"},
    {"includeTokenization", K::Type, "boolean"},
    {"discardSpeakerAdaptation", K::Type, "boolean"},
    {"suppressCallRecording", K::Type, "boolean"},
    {"maskLoadFailures", K::Type, "boolean"},
    {"suppressInitialCapitalization", K::Type, "boolean"},
    {"allowZeroBaseLmWeight", K::Type, "boolean"},
    {"filterWakeupWord", K::Type, "boolean"},
    {"resultType", K::Enum, "final,partial,immutable_partial"},
    {"noInputTimeoutMs", K::Type, "number"},
    {"recognitionTimeoutMs", K::Type, "number"},
    {"utteranceEndSilenceMs", K::Type, "number"},
    {"maxHypotheses", K::Type, "number"},
    {"speechDomain", K::Type, "string"},
    {"formatting", K::Ref, "formatting"},
    {"clientData", K::Type, "object"},
    {"userId", K::Type, "string"},
    {"speechDetectionSensitivity", K::Type, "number"},
    {"resources", K::RefArray, "resource"},
};
constexpr PropSpec k_assemblyAiOptions_p[] = {
    {"apiKey", K::Type, "string"},
    {"serviceVersion", K::Enum, "v2,v3"},
    {"speechModel", K::Type, "string"},
    {"formatTurns", K::Type, "boolean"},
    {"endOfTurnConfidenceThreshold", K::Type, "number"},
    {"minEndOfTurnSilenceWhenConfident", K::Type, "number"},
    {"maxTurnSilence", K::Type, "number"},
    {"minTurnSilence", K::Type, "number"},
    {"keyterms", K::Array, ""},
    {"prompt", K::Type, "string"},
    {"languageDetection", K::Type, "boolean"},
    {"vadThreshold", K::Type, "number"},
    {"inactivityTimeout", K::Type, "number"},
};
constexpr PropSpec k_resource_p[] = {
    {"externalReference", K::Ref, "resourceReference"},
    {"inlineWordset", K::Type, "string"},
    {"builtin", K::Type, "string"},
    {"inlineGrammar", K::Type, "string"},
    {"wakeupWord", K::Array, ""},
    {"weightName", K::Enum, "defaultWeight,lowest,low,medium,high,highest"},
    {"weightValue", K::Type, "number"},
    {"reuse", K::Enum, "undefined_reuse,low_reuse,high_reuse"},
};
constexpr PropSpec k_resourceReference_p[] = {
    {"type", K::Enum, "undefined_resource_type,wordset,compiled_wordset,domain_lm,speaker_profile,grammar,settings"},
    {"uri", K::Type, "string"},
    {"maxLoadFailures", K::Type, "boolean"},
    {"requestTimeoutMs", K::Type, "number"},
    {"headers", K::Type, "object"},
};
constexpr PropSpec k_formatting_p[] = {
    {"scheme", K::Type, "string"},
    {"options", K::Type, "object"},
};
constexpr std::string_view k_formatting_r[] = {"scheme", "options"};
constexpr PropSpec k_lexIntent_p[] = {
    {"name", K::Type, "string"},
    {"slots", K::Type, "object"},
};
constexpr std::string_view k_lexIntent_r[] = {"name"};
constexpr PropSpec k_vad_p[] = {
    {"enable", K::Type, "boolean"},
    {"voiceMs", K::Type, "number"},
    {"silenceMs", K::Type, "number"},
    {"strategy", K::Type, "string"},
    {"mode", K::Type, "number"},
    {"vendor", K::Enum, "webrtc,silero"},
    {"threshold", K::Type, "number"},
    {"speechPadMs", K::Type, "number"},
};
constexpr PropSpec k_amd_p[] = {
    {"actionHook", K::Union, "object,string"},
    {"thresholdWordCount", K::Type, "number"},
    {"digitCount", K::Type, "number"},
    {"timers", K::Ref, "amdTimers"},
    {"recognizer", K::Ref, "recognizer"},
    // dialplane extensions (README): hang up when a machine answers; screen every leg for machines in a simring.
    {"disconnectOnAmd", K::Type, "boolean"},
    {"disconnectOnAMD", K::Type, "boolean"},
    {"voicemailSafe", K::Type, "boolean"},
};
constexpr std::string_view k_amd_r[] = {"actionHook"};
constexpr PropSpec k_amdTimers_p[] = {
    {"noSpeechTimeoutMs", K::Type, "number"},
    {"decisionTimeoutMs", K::Type, "number"},
    {"toneTimeoutMs", K::Type, "number"},
    {"greetingCompletionTimeoutMs", K::Type, "number"},
};
constexpr PropSpec k_actionHookDelayAction_p[] = {
    {"enabled", K::Type, "boolean"},
    {"noResponseTimeout", K::Type, "number"},
    {"noResponseGiveUpTimeout", K::Type, "number"},
    {"retries", K::Type, "number"},
    {"actions", K::Array, ""},
    {"giveUpActions", K::Array, ""},
};
constexpr PropSpec k_bidirectionalAudio_p[] = {
    {"enabled", K::Type, "boolean"},
    {"streaming", K::Type, "boolean"},
    {"sampleRate", K::Type, "number"},
};
constexpr PropSpec k_pipeline_p[] = {
    {"id", K::Type, "string"},
    {"stt", K::Ref, "recognizer"},
    {"tts", K::Ref, "synthesizer"},
    {"llm", K::Ref, "llm"},
    {"turnDetection", K::Union, "string,object"},
    {"bargeIn", K::Ref, "bargeInPipeline"},
    {"actionHook", K::Union, "object,string"},
    {"eventHook", K::Union, "object,string"},
    {"toolHook", K::Union, "object,string"},
    {"greeting", K::Type, "boolean"},
    {"earlyGeneration", K::Type, "boolean"},
    {"noiseIsolation", K::Union, "string,#noiseIsolationPipeline"},
    {"mcpServers", K::RefArray, "mcpServer"},
    {"noResponseTimeout", K::Type, "number"},
};
constexpr std::string_view k_pipeline_r[] = {"llm"};
constexpr PropSpec k_bargeInPipeline_p[] = {
    {"enable", K::Type, "boolean"},
    {"minSpeechDuration", K::Type, "number"},
    {"sticky", K::Type, "boolean"},
};
constexpr PropSpec k_noiseIsolationPipeline_p[] = {
    {"mode", K::Type, "string"},
    {"level", K::Type, "number"},
    {"direction", K::BadSpec, "invalid or missing type in spec {\"enum\":[\"read\",\"write\"]}"},
    {"model", K::Type, "string"},
};
constexpr PropSpec k_noiseIsolation_p[] = {
    {"enable", K::Type, "boolean"},
    {"vendor", K::Type, "string"},
    {"level", K::Type, "number"},
    {"model", K::Type, "string"},
};
constexpr PropSpec k_turnTaking_p[] = {
    {"enable", K::Type, "boolean"},
    {"vendor", K::Type, "string"},
    {"threshold", K::Type, "number"},
    {"model", K::Type, "string"},
};

constexpr TypeSpec kSpecs[] = {
    {"alert", k_alert_p, k_alert_r},
    {"answer", k_answer_p, {}},
    {"sip:decline", k_sip_decline_p, k_sip_decline_r},
    {"sip:request", k_sip_request_p, k_sip_request_r},
    {"sip:refer", k_sip_refer_p, k_sip_refer_r},
    {"config", k_config_p, {}},
    {"fillerNoise", k_fillerNoise_p, k_fillerNoise_r},
    {"listenOptions", k_listenOptions_p, k_listenOptions_r},
    {"ttsStream", k_ttsStream_p, k_ttsStream_r},
    {"bargeIn", k_bargeIn_p, k_bargeIn_r},
    {"transcribeOptions", k_transcribeOptions_p, k_transcribeOptions_r},
    {"dub", k_dub_p, k_dub_r},
    {"dequeue", k_dequeue_p, k_dequeue_r},
    {"enqueue", k_enqueue_p, k_enqueue_r},
    {"leave", k_leave_p, {}},
    {"hangup", k_hangup_p, {}},
    {"play", k_play_p, k_play_r},
    {"say", k_say_p, {}},
    {"gather", k_gather_p, {}},
    {"conference", k_conference_p, k_conference_r},
    {"dial", k_dial_p, k_dial_r},
    {"dialogflow", k_dialogflow_p, k_dialogflow_r},
    {"queryInput", k_queryInput_p, {}},
    {"dtmf", k_dtmf_p, k_dtmf_r},
    {"lex", k_lex_p, k_lex_r},
    {"listen", k_listen_p, k_listen_r},
    {"llm", k_llm_p, k_llm_r},
    {"mcpServer", k_mcpServer_p, k_mcpServer_r},
    {"message", k_message_p, k_message_r},
    {"pause", k_pause_p, k_pause_r},
    {"rasa", k_rasa_p, k_rasa_r},
    {"record", k_record_p, k_record_r},
    {"recordOptions", k_recordOptions_p, k_recordOptions_r},
    {"redirect", k_redirect_p, k_redirect_r},
    {"rest:dial", k_rest_dial_p, k_rest_dial_r},
    {"tag", k_tag_p, k_tag_r},
    {"transcribe", k_transcribe_p, {}},
    {"target", k_target_p, k_target_r},
    {"dialFrom", k_dialFrom_p, {}},
    {"auth", k_auth_p, k_auth_r},
    {"synthesizer", k_synthesizer_p, k_synthesizer_r},
    {"recognizer", k_recognizer_p, k_recognizer_r},
    {"customOptions", k_customOptions_p, {}},
    {"awsOptions", k_awsOptions_p, {}},
    {"azureOptions", k_azureOptions_p, {}},
    {"googleOptions", k_googleOptions_p, {}},
    {"houndifyOptions", k_houndifyOptions_p, {}},
    {"elevenlabsOptions", k_elevenlabsOptions_p, {}},
    {"cobaltOptions", k_cobaltOptions_p, {}},
    {"nvidiaOptions", k_nvidiaOptions_p, {}},
    {"ibmOptions", k_ibmOptions_p, {}},
    {"deepgramOptions", k_deepgramOptions_p, {}},
    {"sonioxOptions", k_sonioxOptions_p, {}},
    {"verbioOptions", k_verbioOptions_p, {}},
    {"openaiOptions", k_openaiOptions_p, {}},
    {"promptTemplates", k_promptTemplates_p, {}},
    {"turnDetection", k_turnDetection_p, k_turnDetection_r},
    {"speechmaticsOptions", k_speechmaticsOptions_p, {}},
    {"sm_transcriptionConfig", k_sm_transcriptionConfig_p, {}},
    {"sm_speakerDiarizationConfig", k_sm_speakerDiarizationConfig_p, {}},
    {"sm_conversationConfig", k_sm_conversationConfig_p, {}},
    {"sm_puctuationOverrides", k_sm_puctuationOverrides_p, {}},
    {"sm_audioFilteringConfig", k_sm_audioFilteringConfig_p, k_sm_audioFilteringConfig_r},
    {"sm_transcriptFilteringConfig", k_sm_transcriptFilteringConfig_p, k_sm_transcriptFilteringConfig_r},
    {"sm_translationConfig", k_sm_translationConfig_p, k_sm_translationConfig_r},
    {"sm_audioEventsConfig", k_sm_audioEventsConfig_p, {}},
    {"sonioxStorage", k_sonioxStorage_p, {}},
    {"nuanceOptions", k_nuanceOptions_p, {}},
    {"assemblyAiOptions", k_assemblyAiOptions_p, {}},
    {"resource", k_resource_p, {}},
    {"resourceReference", k_resourceReference_p, {}},
    {"formatting", k_formatting_p, k_formatting_r},
    {"lexIntent", k_lexIntent_p, k_lexIntent_r},
    {"vad", k_vad_p, {}},
    {"amd", k_amd_p, k_amd_r},
    {"amdTimers", k_amdTimers_p, {}},
    {"actionHookDelayAction", k_actionHookDelayAction_p, {}},
    {"bidirectionalAudio", k_bidirectionalAudio_p, {}},
    {"pipeline", k_pipeline_p, k_pipeline_r},
    {"bargeInPipeline", k_bargeInPipeline_p, {}},
    {"noiseIsolationPipeline", k_noiseIsolationPipeline_p, {}},
    {"noiseIsolation", k_noiseIsolation_p, {}},
    {"turnTaking", k_turnTaking_p, {}},
};

}  // namespace

const PropSpec* TypeSpec::find(std::string_view prop) const {
  auto it = std::find_if(props.begin(), props.end(), [&](const PropSpec& p) { return p.name == prop; });
  return it == props.end() ? nullptr : &*it;
}

const TypeSpec* find_type_spec(std::string_view name) {
  for (const auto& s : kSpecs)
    if (s.name == name) return &s;
  return nullptr;
}

std::span<const TypeSpec> all_type_specs() { return kSpecs; }

}  // namespace dp::core
