//! Input builders for the ESR benchmarks.

/// A generated GDW full file of at least `target` bytes: HDR, blocks of
/// person / assignment / position / costing rows, TRL.
pub fn go_file(target: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(target + 4096);
    out.extend_from_slice(
        b"HDR~GO_999_GDW_GOF_20250301_00000101.DAT~20250301 021503~999~00000000 000000~20250301 000000~01\n",
    );
    let mut lines = 1usize;
    let mut id = 7_000_000u64;
    while out.len() < target {
        id += 1;
        let rows = [
            format!(
                "PRA~{id}~20220404~47121231~{id}~Ms.~Testperson~Ada~Query~~~~F~19900101~JK000001A~1000001~20220404~~~E~~~Z Not Stated~~United Kingdom~~~~~990000000001~~~~EMP~Employee~ada.testperson@example.invalid~20220404~~20220404 101000~N~~~~\n"
            ),
            format!(
                "ASA~{id}~{id}~20220404~47121231~20220404~E~{id}~ACTIVE_ASSIGN~Active Assignment~E~999 Monthly~Calendar Month~500001~N~7000003~7100004~90000003~~Permanent~PT~Yes~30~Week~37.5~0.8~~600100~800001~3000001|Staff Nurse, Band 5|N0A|Elderly Care|~NHS|XR05|Band 5~2~20220404~28407.00~Nursing and Midwifery Registered|Staff Nurse~999 z 0850 Nursing|||~~N~~~~20250401~N~Y~20220404 101000~~~N~~~\n"
            ),
            format!(
                "POA~{id}~20240401~47121231~3000001~3000001|Staff Nurse, Band 5|N0A|Elderly Care|~5.2~9901000~Nursing and Midwifery Registered~Staff Nurse~N0A~XR05~XR05|0~Not Applicable~600100~Active~SHARED~~~~~XX9~20240401 000100~Ward Nursing\n"
            ),
            format!("COA~{id}~{id}~{id}~20220404~~999~~999B171~9901000~~~~~60~20220404 100000\n"),
        ];
        for r in &rows {
            out.extend_from_slice(r.as_bytes());
        }
        lines += rows.len();
    }
    out.extend_from_slice(format!("TRL~{}\n", lines + 1).as_bytes());
    out
}
