//! What the applicant waits for on the kiosk itself: saving a draft (SQLCipher, fsync), building
//! the view after a touch, repainting a whole 1920x1080 page with the software renderer, and a
//! camera frame on its way to the preview (converted on the camera thread, copied on the UI
//! thread), and 打印回执 until the printer has taken the job (the receipt drawn, sent as
//! ESC/POS to the simulated printer on a pty, the paper asked before and after).
//! Run: `cargo bench -p kiosk --bench kiosk`.

use criterion::{Criterion, criterion_group, criterion_main};
use kiosk::accounts::{DevSmsSender, LocalAccounts};
use kiosk::app::Kiosk;
use kiosk::app::session::Services;
use kiosk::store::Store;
use kiosk_domain::catalog::MaterialKind;
use kiosk_domain::samples::{self, Branch};
use kiosk_domain::{Application, MaterialLimits, Step};
use kiosk_hardware::camera::{CameraFrame, PixelFormat};
use slint::ComponentHandle;

fn services(dir: &std::path::Path) -> Services {
    let key = dir.join("kiosk.key");
    Services {
        store: Store::open(dir, &key).expect("store"),
        accounts: Box::new(LocalAccounts::new(
            Store::open(dir, &key).expect("store"),
            DevSmsSender::default(),
        )),
        materials: None,
        cameras: None,
        limits: MaterialLimits::default(),
        idle_timeout_secs: 90,
        draft_retention_secs: 24 * 3600,
        today: || time::macros::date!(2026 - 11 - 28),
        card_reader: None,
        staff_pin_hash: None,
        pinyin: None,
        handwriting: None,
        speaker: None,
        voice: kiosk::store::VoiceSettings {
            enabled: true,
            volume: 80,
        },
        printer: None,
        hall_name: "五华区政务服务中心".into(),
        status_base_url: None,
    }
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(dir.path(), &dir.path().join("kiosk.key")).expect("store");
    let mut app = Application::new();
    let _ = app.edit(|d| *d = samples::complete(Branch::Employed));
    c.bench_function("save_draft (SQLCipher, WAL, synchronous=FULL)", |b| {
        b.iter(|| store.save_draft(&app).expect("save"))
    });

    let ui_dir = tempfile::tempdir().expect("temp dir");
    let window = kiosk::app::screenshots::install_platform().expect("platform");
    let kiosk = Kiosk::new(services(ui_dir.path())).expect("window");
    kiosk.window.show().expect("show");
    kiosk::app::screenshots::at(
        &mut kiosk.session.borrow_mut(),
        Step::Work,
        Branch::Employed,
    );
    c.bench_function("view::build, work page", |b| {
        b.iter(|| kiosk::app::view::build(&kiosk.session.borrow()))
    });
    c.bench_function("touch → redraw globals (inline option), work page", |b| {
        b.iter(|| {
            kiosk
                .session
                .borrow_mut()
                .choose_inline(kiosk_domain::Field::HeadOfAccounting, 0);
            kiosk.refresh();
        })
    });
    c.bench_function(
        "full repaint 1920x1080, work page (software renderer)",
        |b| b.iter(|| kiosk::app::screenshots::render(&window, 1920, 1080)),
    );

    // A 1280x720 YUYV frame of a front camera.
    let yuyv = CameraFrame {
        format: PixelFormat::Yuyv,
        width: 1280,
        height: 720,
        data: (0..1280 * 720 * 2).map(|i| (i * 7 % 251) as u8).collect(),
    };
    c.bench_function("camera thread: YUYV 1280x720 → RGBA", |b| {
        b.iter(|| kiosk::capture::feed::convert(&yuyv).expect("convert"))
    });
    let rgba = kiosk::capture::feed::convert(&yuyv).expect("convert");
    c.bench_function("UI thread: RGBA 1280x720 → preview image", |b| {
        b.iter(|| kiosk::app::glue::capture::image(&rgba))
    });

    // What the applicant waits for after the shutter: the sample frames of the simulated cameras.
    let still = |name: &str| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs/dev-materials")
            .join(name);
        kiosk_media::decode::decode(&std::fs::read(path).expect("sample frame"))
            .expect("decodes")
            .image
    };
    let limits = MaterialLimits::default();
    let face = still("photo.jpg");
    c.bench_function(
        "capture: photo still 640x720 → checks, crop, 10,240–20,000 B",
        |b| b.iter(|| kiosk::capture::process::process(MaterialKind::Photo, &face, None, &limits)),
    );
    let page = still("doccam-page.jpg");
    c.bench_function(
        "capture: page still 1600x1200 → corners, 150 dpi A4, ≤ 200,000 B",
        |b| {
            b.iter(|| {
                kiosk::capture::process::process(
                    MaterialKind::QualificationCertificate,
                    &page,
                    None,
                    &limits,
                )
            })
        },
    );

    let (_, submitted) = samples::golden_records(time::macros::date!(2026 - 12 - 08))
        .into_iter()
        .next()
        .expect("a sample");
    let facts = kiosk_domain::receipt::ReceiptFacts {
        submitted_at: time::OffsetDateTime::now_utc(),
        hall: "五华区政务服务中心",
        code: Some("0DZBRDJVGQDKXPTMNVWE"),
        status_url: Some("https://central.example/s/0DZBRDJVGQDKXPTMNVWE".into()),
    };
    c.bench_function("receipt: record → text → 576-dot raster with QR", |b| {
        b.iter(|| kiosk::receipt::page(&submitted, &facts, kiosk_domain::Lang::Zh).expect("page"))
    });
    let sim = kiosk_hardware::printer::sim::PrinterSim::spawn(None).expect("printer");
    let printer: kiosk::receipt::SharedPrinter =
        std::sync::Arc::new(std::sync::Mutex::new(Box::new(
            kiosk_hardware::printer::driver::EscPosPrinter::new(sim.device(), 115_200),
        )
            as Box<dyn kiosk_hardware::printer::ReceiptPrinter>));
    let page = kiosk::receipt::page(&submitted, &facts, kiosk_domain::Lang::Zh).expect("page");
    println!(
        "receipt page: {}x{} dots, {} bytes of raster: {:.2} s on a 115200-baud line",
        page.width,
        page.height,
        page.packed.len(),
        page.packed.len() as f64 * 10.0 / 115_200.0
    );
    c.bench_function(
        "打印回执 → job accepted (render + ESC/POS to the simulated printer, pty)",
        |b| {
            b.iter(|| {
                let job = kiosk::receipt::PrintJob::start(
                    kiosk::receipt::page(&submitted, &facts, kiosk_domain::Lang::Zh),
                    &printer,
                );
                loop {
                    if let Some(result) = job.poll() {
                        result.expect("printed");
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
            })
        },
    );
}

criterion_group! {
    name = kiosk_benches;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(kiosk_benches);
