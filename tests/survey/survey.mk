# The kernel ISA survey (tests/survey/isa_survey.c): which encodings the running kernel accepts,
# compared with EBPF_FORMS. Needs root; run by tests/test_isa.py and `make survey`.
ISA_SURVEY := $(BUILD)/survey/isa_survey
ISA_SURVEY_OBJS := $(BUILD)/obj/tests/survey/isa_survey.o $(BUILD)/obj/harness/kexec.o $(BUILD)/obj/vm/isa.o

$(ISA_SURVEY): $(ISA_SURVEY_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^

.PHONY: survey
survey: $(ISA_SURVEY)
	$(ISA_SURVEY)

-include $(BUILD)/obj/tests/survey/isa_survey.d
